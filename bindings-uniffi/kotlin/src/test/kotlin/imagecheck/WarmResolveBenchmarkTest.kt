package imagecheck

import java.time.Duration
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import uniffi.imagecheck.parseReference

/**
 * Warm resolve through UniFFI, per call, from Kotlin: a timed loop, not an assertion on time.
 * Prints `BENCH …` lines; the figures go to BENCHMARKS.md. Iterations: IMAGECHECK_BENCH_ITERS
 * (default 20000).
 */
class WarmResolveBenchmarkTest {
    @Test
    fun `warm resolve ns per op`() {
        val resolver = Harness.resolver()
        val tag = "${Harness.host("plain")}/test/hello:v1"
        val want = Harness.digest("hello-oci")
        val ttl = Duration.ofHours(1)
        assertEquals(want, resolver.resolveBlocking(tag, Duration.ZERO))
        val iters = System.getenv("IMAGECHECK_BENCH_ITERS")?.toInt() ?: 20_000

        fun measure(label: String, n: Int, call: () -> String) {
            repeat(n / 4) { call() } // JIT warm-up
            val start = System.nanoTime()
            repeat(n) { if (call().length != want.length) error("bad digest") }
            val ns = (System.nanoTime() - start).toDouble() / n
            println("BENCH kotlin uniffi $label: %.0f ns/op (%d iterations)".format(ns, n))
        }
        measure("resolveBlocking warm", iters) { resolver.resolveBlocking(tag, ttl) }
        // Baselines in the same run, to separate UniFFI/JNA per-call cost from the core's work:
        // the smallest call (a handle and a u64, no buffers) and a string in, a record out.
        measure("baseline cacheLen() (no buffers)", iters) { if (resolver.cacheLen() == 1uL) want else "" }
        measure("baseline parseReference (string in, record out)", iters) { parseReference(tag).let { want } }
        measure("resolve (suspend, runBlocking per call) warm", iters / 4) { runBlocking { resolver.resolve(tag, ttl) } }
        runBlocking {
            repeat(iters / 16) { resolver.resolve(tag, ttl) }
            val n = iters / 4
            val start = System.nanoTime()
            repeat(n) { resolver.resolve(tag, ttl) }
            val ns = (System.nanoTime() - start).toDouble() / n
            println("BENCH kotlin uniffi resolve (suspend, inside one coroutine) warm: %.0f ns/op (%d iterations)".format(ns, n))
        }
    }
}
