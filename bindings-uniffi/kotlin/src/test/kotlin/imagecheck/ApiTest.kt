package imagecheck

import java.time.Duration
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.imagecheck.Credentials
import uniffi.imagecheck.CauseKind
import uniffi.imagecheck.ImageCheckException
import uniffi.imagecheck.Resolver
import uniffi.imagecheck.ResolverOptions
import uniffi.imagecheck.Verifier
import uniffi.imagecheck.VerifierOptions
import uniffi.imagecheck.defaultResolver
import uniffi.imagecheck.defaultVerifier
import uniffi.imagecheck.parseReference

/** The exported API as a Kotlin caller sees it, against the harness registries. */
class ApiTest {
    private val plain = Harness.host("plain")
    private val hello = "$plain/test/hello:v1"
    private val helloDigest = Harness.digest("hello-oci")

    @Test
    fun `resolve blocking and suspend agree`() {
        val resolver = Harness.resolver()
        assertEquals(helloDigest, resolver.resolveBlocking(hello, Duration.ZERO))
        assertEquals(helloDigest, runBlocking { resolver.resolve(hello, Duration.ZERO) })
        // Warm: served from the cache.
        assertEquals(helloDigest, resolver.resolveBlocking(hello, Duration.ofMinutes(5)))
        assertEquals(helloDigest, runBlocking { resolver.resolve(hello, Duration.ofMinutes(5)) })
        assertTrue(resolver.cacheLen() >= 1uL)
        resolver.clearCache()
        assertEquals(0uL, resolver.cacheLen())
    }

    @Test
    fun `error kinds are Kotlin exceptions`() {
        val resolver = Harness.resolver()
        val invalid = assertThrows<ImageCheckException.InvalidReference> {
            resolver.resolveBlocking("$plain/Test/Hello:v1", Duration.ZERO)
        }
        assertTrue(invalid.reason.contains("Test/Hello"), invalid.reason)
        assertEquals(invalid.reason, invalid.message?.removePrefix("reason="))

        val missing = assertThrows<ImageCheckException.DigestUnavailable> {
            runBlocking { resolver.resolve("$plain/test/hello:no-such-tag", Duration.ZERO) }
        }
        assertEquals(CauseKind.NOT_FOUND, missing.causeKind)

        val unauthorized = assertThrows<ImageCheckException.DigestUnavailable> {
            resolver.resolveBlocking("${Harness.host("basic")}/test/hello:v1", Duration.ZERO)
        }
        assertEquals(CauseKind.UNAUTHORIZED, unauthorized.causeKind)

        assertThrows<ImageCheckException.InvalidArgument> {
            resolver.resolveBlocking(hello, Duration.ZERO, engine = "Not An Engine")
        }
        assertThrows<ImageCheckException.InvalidArgument> {
            runBlocking { resolver.resolve(hello, Duration.ZERO, engine = "unregistered") }
        }
        val none = assertThrows<ImageCheckException.DigestUnavailable> {
            resolver.resolveBlocking(hello, Duration.ZERO, engine = "kubernetes")
        }
        assertEquals(CauseKind.NO_DIGEST_SOURCE, none.causeKind)
        assertThrows<ImageCheckException.InvalidPolicy> { Verifier("rules: [{image: '*', skip: maybe}]", VerifierOptions()) }
        // Every exception shares one base class.
        assertTrue(ImageCheckException.Denied("x") is ImageCheckException)
    }

    @Test
    fun `the shared cache option is checked and a tier that is down costs no call`() {
        val refused = assertThrows<ImageCheckException.InvalidArgument> {
            Resolver(ResolverOptions(sharedCache = "http://:hunter2@cache:6379"))
        }
        assertTrue(refused.reason.contains("shared cache URL") && !refused.reason.contains("hunter2"), refused.reason)
        val resolver = Resolver(
            ResolverOptions(insecureRegistries = Harness.insecure(), sharedCache = "redis://127.0.0.1:1/?timeout_ms=20"),
        )
        assertEquals(Harness.digest("hello-oci"), resolver.resolveBlocking(hello, Duration.ofMinutes(1)))
    }

    @Test
    fun `credentials are used and never printed`() {
        val (user, password) = Harness.user("basic")
        val basic = Harness.host("basic")
        val creds = Credentials(basic, user, password)
        assertFalse(creds.toString().contains(password))
        assertEquals(basic, creds.host())
        assertEquals(user, creds.username())
        val resolver = Harness.resolver()
        assertEquals(
            Harness.digest("basic-hello-oci"),
            resolver.resolveBlocking("$basic/test/hello:v1", Duration.ofMinutes(1), credentials = creds),
        )
        // An answer obtained with credentials is not served to a caller without them.
        val e = assertThrows<ImageCheckException.DigestUnavailable> {
            resolver.resolveBlocking("$basic/test/hello:v1", Duration.ofMinutes(1))
        }
        assertEquals(CauseKind.UNAUTHORIZED, e.causeKind)
        assertFalse(e.reason.contains(password))
    }

    @Test
    fun `verify with a policy`() {
        val policy = """
            rules:
              - image: "$plain/test/denied"
                deny: true
              - image: "$plain/test/*"
                skip: true
        """.trimIndent()
        val verifier = Verifier(policy, VerifierOptions(resolver = Harness.resolver()))

        val denied = assertThrows<ImageCheckException.Denied> { verifier.verifyBlocking("$plain/test/denied:v1") }
        assertTrue(denied.reason.contains("denied"), denied.reason)
        assertThrows<ImageCheckException.Denied> { runBlocking { verifier.verify("$plain/test/denied:v1") } }

        val skipped = verifier.verifyBlocking(hello)
        assertFalse(skipped.verified)
        assertTrue(skipped.message.contains("skip"), skipped.message)
        assertFalse(runBlocking { verifier.verify(hello) }.verified)

        val unmatched = runBlocking { verifier.verify("ghcr.io/other/app:1") }
        assertFalse(unmatched.verified)
        assertTrue(unmatched.message.contains("no rule matched"), unmatched.message)
        assertNull(unmatched.digestedRef)

        assertThrows<ImageCheckException.InvalidReference> { verifier.verifyBlocking("not a reference") }

        // Swapping the rules: everything is denied now.
        verifier.setPolicy("[{image: \"*\", deny: true}]")
        assertThrows<ImageCheckException.Denied> { verifier.verifyBlocking(hello) }
        // A bad policy leaves the rules in force.
        assertThrows<ImageCheckException.InvalidPolicy> { verifier.setPolicy("rules: 42") }
        assertThrows<ImageCheckException.Denied> { verifier.verifyBlocking(hello) }
    }

    @Test
    fun `defaults are process-wide singletons`() {
        // Each call returns a new Kotlin handle on the one Rust instance: what one handle
        // changes, another sees.
        val first = defaultVerifier()
        first.setPolicy("[{image: \"ghcr.io/only-this/*\", deny: true}]")
        try {
            assertThrows<ImageCheckException.Denied> { defaultVerifier().verifyBlocking("ghcr.io/only-this/app:1") }
        } finally {
            first.setPolicy("rules: []")
        }
        // A digest reference needs no I/O, whatever registry it names.
        val pinned = "ghcr.io/org/app@sha256:" + "a".repeat(64)
        assertEquals("sha256:" + "a".repeat(64), defaultResolver().resolveBlocking(pinned, Duration.ZERO))
        // The default verifier without IMAGECHECK_POLICY matches nothing.
        if (System.getenv("IMAGECHECK_POLICY") == null) {
            assertFalse(defaultVerifier().verifyBlocking("ghcr.io/org/app:1").verified)
        }
        assertEquals("docker.io/library/nginx:latest", parseReference("nginx").canonical)
    }

    @Test
    fun `100 concurrent coroutines resolve one tag`() {
        val resolver = Harness.resolver()
        val tag = "$plain/test/index:v1"
        val answers = runBlocking(Dispatchers.Default) {
            (1..100).map { async { resolver.resolve(tag, Duration.ofMinutes(1)) } }.awaitAll()
        }
        assertEquals(100, answers.size)
        assertEquals(setOf(Harness.digest("index-oci")), answers.toSet())
        assertEquals(1uL, resolver.cacheLen())
        // And blocking callers on 100 threads, cold (ttl 0 skips the cache read).
        val threads = (1..100).map {
            val out = arrayOfNulls<String>(1)
            Thread { out[0] = resolver.resolveBlocking(tag, Duration.ZERO) }.also { it.start() } to out
        }
        threads.forEach { (t, out) ->
            t.join()
            assertEquals(Harness.digest("index-oci"), out[0])
        }
    }

    @Test
    fun `cancelling a suspend resolve cancels the call`() {
        val resolver = Harness.resolver()
        runBlocking {
            val job = async { resolver.resolve("$plain/test/docker:v1", Duration.ZERO) }
            job.cancel()
            assertTrue(runCatching { job.await() }.exceptionOrNull() is kotlinx.coroutines.CancellationException)
        }
        // The resolver is still healthy afterwards.
        assertEquals(Harness.digest("docker-v2s2"), resolver.resolveBlocking("$plain/test/docker:v1", Duration.ZERO))
    }
}
