/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast generator whose whole state is one
/// 64-bit counter. Every random quantity in Landscape is a function of the seed alone — never of
/// the rank or the rank count — and streams for independent purposes are separated by `fork`.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An independent stream for sub-purpose `stream` (e.g. one per sample or per layer), so a
    /// rank can jump straight to the numbers of its own shard without drawing everyone else's.
    public func fork(_ stream: UInt64) -> SplitMix64 {
        var mixer = SplitMix64(seed: state ^ (stream &* 0xD1B5_4A32_D192_ED03))
        return SplitMix64(seed: mixer.next())
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Standard normal by the Box–Muller transform (one of the pair; simple and exactly
    /// reproducible across platforms, which matters more here than speed).
    public mutating func nextNormal() -> Double {
        let u1 = 1.0 - nextUniform()   // (0, 1]: log is finite
        let u2 = nextUniform()
        return (-2.0 * _log(u1)).squareRoot() * _cos(2.0 * Double.pi * u2)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
import Foundation
@inline(__always) func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Foundation.cos(x) }
#endif
