package imagecheck

import java.io.File
import java.time.Duration
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import uniffi.imagecheck.Credentials
import uniffi.imagecheck.Resolver
import uniffi.imagecheck.ResolverOptions
import uniffi.imagecheck.parseReference

/**
 * The running test harness (tests/harness/harness.py), found through IMAGECHECK_HARNESS.
 * Tests fail, never skip, when it is missing: a suite that silently does nothing is worse
 * than a red one.
 */
object Harness {
    val dir: File by lazy {
        val env = System.getenv("IMAGECHECK_HARNESS")
            ?: error(
                "IMAGECHECK_HARNESS is not set: start the harness with " +
                    "`python3 tests/harness/harness.py start --state-dir DIR` and export " +
                    "IMAGECHECK_HARNESS=DIR (bindings-uniffi/test.sh expects the caller to do this)",
            )
        val d = File(env)
        check(File(d, "state.json").isFile) { "IMAGECHECK_HARNESS=$env has no state.json" }
        d
    }

    val state: JsonObject by lazy { Json.parseToJsonElement(File(dir, "state.json").readText()).jsonObject }

    fun host(registry: String): String =
        state["registries"]!!.jsonObject[registry]!!.jsonObject["host"]!!.jsonPrimitive.content

    fun user(registry: String): Pair<String, String> {
        val r = state["registries"]!!.jsonObject[registry]!!.jsonObject
        return r["username"]!!.jsonPrimitive.content to r["password"]!!.jsonPrimitive.content
    }

    fun image(name: String): JsonObject =
        state["images"]!!.jsonArray.map { it.jsonObject }.first { it["name"]!!.jsonPrimitive.content == name }

    fun digest(name: String): String = image(name)["digest"]!!.jsonPrimitive.content

    fun insecure(): List<String> = listOf("plain", "basic", "token").map(::host)

    /** A resolver of its own that reaches the harness registries over plain HTTP. */
    fun resolver(): Resolver = Resolver(ResolverOptions(insecureRegistries = insecure(), requestTimeout = Duration.ofSeconds(10)))

    /** signed.json (written by tests/harness/sign.py), needed by verify cases only. */
    val signed: JsonObject by lazy {
        val f = File(dir, "signed.json")
        check(f.isFile) { "$f is missing: run tests/harness/sign.py after the harness (tests/run does)" }
        Json.parseToJsonElement(f.readText()).jsonObject
    }

    /** Replace the placeholders of tests/conformance/README.md. */
    fun substitute(text: String): String {
        var out = text
        for (r in listOf("plain", "basic", "token")) out = out.replace("{$r}", host(r))
        for (image in state["images"]!!.jsonArray) {
            val o = image.jsonObject
            out = out.replace("{digest:${o["name"]!!.jsonPrimitive.content}}", o["digest"]!!.jsonPrimitive.content)
        }
        if (out.contains("{signed") || out.contains("{policy:") || out.contains("{trust-root:")) {
            for ((name, image) in signed["images"]!!.jsonObject) {
                out = out.replace("{signed:$name}", image.jsonObject["reference"]!!.jsonPrimitive.content)
                out = out.replace("{signed-digest:$name}", image.jsonObject["digest"]!!.jsonPrimitive.content)
            }
            for ((name, path) in signed["policies"]!!.jsonObject) {
                out = out.replace("{policy:$name}", path.jsonPrimitive.content)
            }
            for ((name, path) in signed["trust_roots"]?.jsonObject ?: emptyMap()) {
                out = out.replace("{trust-root:$name}", path.jsonPrimitive.content)
            }
        }
        check(!out.contains('{')) { "unknown placeholder left in $out" }
        return out
    }

    /** The named credentials of a case (`basic`, `token`, `basic-wrong`, …) for [reference]'s host. */
    fun credentials(case: JsonObject, reference: String): Credentials? {
        val name = case["credentials"]?.let { if (it is kotlinx.serialization.json.JsonNull) null else it.jsonPrimitive.content }
            ?: return null
        val wrong = name.endsWith("-wrong")
        val (user, password) = user(name.removeSuffix("-wrong"))
        val host = parseReference(reference).registry
        return Credentials(host, user, if (wrong) "wrong-password" else password)
    }

    fun cases(): JsonObject {
        // Maven runs from bindings-uniffi/kotlin; the cases live at the repository root.
        val file = generateSequence(File("").absoluteFile) { it.parentFile }
            .map { File(it, "tests/conformance/cases.json") }
            .firstOrNull { it.isFile }
            ?: error("tests/conformance/cases.json not found above ${File("").absolutePath}")
        return Json.parseToJsonElement(file.readText()).jsonObject
    }
}

fun JsonElement?.stringOrNull(): String? =
    if (this == null || this is kotlinx.serialization.json.JsonNull) null else jsonPrimitive.content
