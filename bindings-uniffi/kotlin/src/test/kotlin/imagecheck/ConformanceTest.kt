package imagecheck

import java.io.File
import java.time.Duration
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.boolean
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.fail
import uniffi.imagecheck.CauseKind
import uniffi.imagecheck.ImageCheckException
import uniffi.imagecheck.Verifier
import uniffi.imagecheck.VerifierOptions
import uniffi.imagecheck.parseReference

/** The stable kind name of an exception, as cases.json and the CLI spell it. */
fun kindOf(e: ImageCheckException): String = e::class.simpleName!!

/** The cause kind's name as cases.json spells it (`not found`, `engine error`, …). */
fun causeName(c: CauseKind): String = when (c) {
    CauseKind.ENGINE -> "engine error"
    else -> c.name.lowercase().replace('_', ' ')
}

/** Every case of tests/conformance/cases.json (see its README). */
class ConformanceTest {
    private val cases = Harness.cases()

    @Test
    fun `harness is configured`() {
        // Fails loudly (never skips) without IMAGECHECK_HARNESS.
        assertTrue(Harness.dir.isDirectory)
    }

    @TestFactory
    fun references(): List<DynamicTest> {
        val list = cases["references"]!!.jsonArray
        assertTrue(list.size >= 25, "only ${list.size} reference cases")
        return list.map { it.jsonObject }.map { case ->
            val input = case["input"]!!.jsonPrimitive.content
            DynamicTest.dynamicTest("reference $input") {
                val parsed = try {
                    parseReference(input)
                } catch (e: ImageCheckException) {
                    assertEquals(case["error"].stringOrNull(), kindOf(e), "$input: ${e.message}")
                    return@dynamicTest
                }
                assertEquals(null, case["error"].stringOrNull(), "$input should be invalid, parsed as $parsed")
                assertEquals(case["canonical"].stringOrNull(), parsed.canonical, input)
                assertEquals(case["registry"].stringOrNull(), parsed.registry, input)
                assertEquals(case["repository"].stringOrNull(), parsed.repository, input)
                assertEquals(case["tag"].stringOrNull(), parsed.tag, input)
                assertEquals(case["digest"].stringOrNull(), parsed.digest, input)
            }
        }
    }

    private fun checkResolve(case: JsonObject, resolve: (String, String, uniffi.imagecheck.Credentials?) -> String) {
        val name = case["name"]!!.jsonPrimitive.content
        val reference = Harness.substitute(case["reference"]!!.jsonPrimitive.content)
        val engine = case["engine"].stringOrNull() ?: "registry"
        val creds = Harness.credentials(case, reference)
        val expect = case["expect"]!!.jsonObject
        val want = expect["digest"].stringOrNull()
        try {
            val digest = resolve(reference, engine, creds)
            if (want == null) fail("$name: expected $expect, got $digest")
            assertEquals(Harness.substitute(want), digest, name)
        } catch (e: ImageCheckException) {
            if (want != null) fail("$name: expected a digest, got ${kindOf(e)}: ${e.message}", e)
            assertEquals(expect["error"].stringOrNull(), kindOf(e), "$name: ${e.message}")
            expect["cause"].stringOrNull()?.let { cause ->
                val du = e as? ImageCheckException.DigestUnavailable ?: fail("$name: $e has no cause")
                assertEquals(cause, causeName(du.causeKind), "$name: ${du.reason}")
            }
        }
    }

    @TestFactory
    fun `resolve blocking`(): List<DynamicTest> {
        val resolver = Harness.resolver()
        return cases["resolve"]!!.jsonArray.map { it.jsonObject }.map { case ->
            DynamicTest.dynamicTest("resolve_blocking ${case["name"]!!.jsonPrimitive.content}") {
                checkResolve(case) { r, engine, creds -> resolver.resolveBlocking(r, Duration.ZERO, engine, creds) }
            }
        }
    }

    @TestFactory
    fun `resolve suspend`(): List<DynamicTest> {
        val resolver = Harness.resolver()
        return cases["resolve"]!!.jsonArray.map { it.jsonObject }.map { case ->
            DynamicTest.dynamicTest("resolve ${case["name"]!!.jsonPrimitive.content}") {
                checkResolve(case) { r, engine, creds -> runBlocking { resolver.resolve(r, Duration.ZERO, engine, creds) } }
            }
        }
    }

    /** Verify cases (the list may still be empty; the runner follows the README for when it is not). */
    @TestFactory
    fun verify(): List<DynamicTest> =
        cases["verify"]!!.jsonArray.map { it.jsonObject }.flatMap { case ->
            val name = case["name"]!!.jsonPrimitive.content
            listOf(false, true).map { suspend ->
                DynamicTest.dynamicTest("verify ${if (suspend) "suspend" else "blocking"} $name") {
                    val policy = File(Harness.substitute(case["policy"]!!.jsonPrimitive.content)).readText()
                    val trustedRoot = case["trusted_root"].stringOrNull()?.let { Harness.substitute(it) }
                    val verifier = Verifier(policy, VerifierOptions(resolver = Harness.resolver(), trustedRoot = trustedRoot))
                    val reference = Harness.substitute(case["reference"]!!.jsonPrimitive.content)
                    val creds = Harness.credentials(case, reference)
                    val expect = case["expect"]!!.jsonObject
                    try {
                        val v = if (suspend) runBlocking { verifier.verify(reference, creds) } else verifier.verifyBlocking(reference, creds)
                        if (expect["error"] != null) fail("$name: expected $expect, got $v")
                        assertEquals(expect["verified"]!!.jsonPrimitive.boolean, v.verified, "$name: $v")
                        expect["digested_ref"].stringOrNull()?.let { assertEquals(Harness.substitute(it), v.digestedRef, name) }
                        expect["message_contains"].stringOrNull()?.let {
                            assertTrue(v.message.contains(it), "$name: ${v.message} lacks $it")
                        }
                    } catch (e: ImageCheckException) {
                        assertEquals(expect["error"].stringOrNull(), kindOf(e), "$name: ${e.message}")
                        expect["failures"]?.jsonArray?.let { want ->
                            val wanted = want.map { f ->
                                val o = f.jsonObject
                                o["source"]!!.jsonPrimitive.content + "/" + o["check"]!!.jsonPrimitive.content
                            }
                            val got = (e as ImageCheckException.VerificationFailed).failures.map { "${it.source}/${it.check}" }
                            assertEquals(wanted, got, "$name: ${e.message}")
                        }
                    }
                }
            }
        }
}
