"""The demo's Python part: resolve and verify with the imagecheck package (no cosign, no skopeo)."""

import asyncio
import os

import imagecheck

registry = os.environ["DEMO_REGISTRY"]
policy = os.environ["DEMO_POLICY"]
references = os.environ["DEMO_REFERENCES"].split()

resolver = imagecheck.Resolver(insecure_registries=[registry])
app = f"{registry}/demo/app:1.0"
print(f"python  resolve        {app} -> {resolver.resolve(app, ttl=0)}")


async def resolve_many() -> list[str]:
    # 20 concurrent awaits of one tag: the resolver answers them from one cached entry.
    return await asyncio.gather(*(resolver.resolve_async(app, ttl=30.0) for _ in range(20)))


digests = asyncio.run(resolve_many())
print(f"python  resolve_async  {app} x{len(digests)} -> {digests[0]} (one cached answer)")

verifier = imagecheck.Verifier.from_file(policy, insecure_registries=[registry])
for reference in references:
    try:
        result = verifier.verify(reference)
        verdict = "verified" if result.verified else "not verified"
        print(f"python  {verdict:<13}  {reference}: {result.message}")
    except imagecheck.ImageCheckError as error:
        print(f"python  {type(error).__name__:<13}  {reference}: {error}")
