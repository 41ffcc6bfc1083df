package stranger

import java.io.File
import java.time.Duration
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.imagecheck.CauseKind
import uniffi.imagecheck.ImageCheckException
import uniffi.imagecheck.Resolver
import uniffi.imagecheck.ResolverOptions
import uniffi.imagecheck.Verifier
import uniffi.imagecheck.VerifierOptions

/** The installed jar as a JVM program uses it: no jna.library.path, the library from the jar. */
class StrangerTest {
    private fun env(name: String): String =
        System.getenv(name) ?: error("$name is not set (tests/dist/run sets the IC_* variables)")

    private val resolver = Resolver(ResolverOptions(insecureRegistries = env("IC_INSECURE").split(",")))

    @Test
    fun `the library is loaded from the jar`() {
        assertNull(System.getProperty("jna.library.path"))
        assertEquals(env("IC_HELLO_DIGEST"), resolver.resolveBlocking(env("IC_HELLO_REF"), Duration.ZERO))
    }

    @Test
    fun `resolve, suspend resolve and an error kind`() {
        assertEquals(env("IC_HELLO_DIGEST"), runBlocking { resolver.resolve(env("IC_HELLO_REF"), Duration.ZERO) })
        val missing = assertThrows<ImageCheckException.DigestUnavailable> {
            resolver.resolveBlocking(env("IC_MISSING_REF"), Duration.ZERO)
        }
        assertEquals(CauseKind.NOT_FOUND, missing.causeKind)
        assertThrows<ImageCheckException.InvalidReference> { resolver.resolveBlocking("Bad/Reference", Duration.ZERO) }
    }

    @Test
    fun `verify with a key policy`() {
        val verifier = Verifier(File(env("IC_POLICY")).readText(), VerifierOptions(resolver = resolver))
        val v = runBlocking { verifier.verify(env("IC_SIGNED_REF")) }
        assertTrue(v.verified, v.message)
        assertTrue(v.digestedRef!!.endsWith("@" + env("IC_SIGNED_DIGEST")), v.digestedRef)
        assertThrows<ImageCheckException.VerificationFailed> { verifier.verifyBlocking(env("IC_WRONGKEY_REF")) }
    }
}
