@testable import Networks
import SeededRandom
import Samples
import Testing

/// Kept linearisations give the products the models compute from scratch, to rounding: H and G,
/// every activation and loss, with and without biases, B below, at and above the kept tile's
/// direction block, and tiles smaller than the batch.
@Suite struct LinearizationTests {
    @Test(arguments: Activation.allCases) func perceptronKeptEqualsRecomputed(_ activation: Activation) throws {
        for (loss, biases) in [(Loss.crossEntropy, true), (.meanSquaredError, false)] {
            let fixture = Fixture(widths: [5, 7, 6, 3], biases: biases, activation: activation, loss: loss, samples: 23)
            var network = fixture.network
            network.tileBudget = 16 * 7 * 4   // 4 samples per kept tile: several tiles
            let kept = try #require(network.linearized(fixture.parameters, on: fixture.batch))
            #expect(kept.keptBytes == network.linearizationBytes(samples: 23))
            for count in [1, 5, 16, 37] {
                var random = SplitMix64(seed: UInt64(count))
                let v = (0..<(network.parameterCount * count)).map { _ in random.nextNormal() }
                for residual in [true, false] {
                    let recomputed = residual ? network.hessianVectorProduct(fixture.parameters, on: fixture.batch, directions: v, count: count)
                                              : network.gaussNewtonVectorProduct(fixture.parameters, on: fixture.batch, directions: v, count: count)
                    let fast = kept.curvatureProduct(v, count: count, residual: residual)
                    #expect(relativeError(fast, recomputed) <= 1e-13, "\(activation) \(loss) B = \(count) residual \(residual)")
                }
            }
        }
    }

    @Test(arguments: [ConvolutionTests.smooth, ConvolutionTests.maxPooled])
    func convolutionalKeptEqualsRecomputed(_ layers: [ConvolutionalLayer]) throws {
        for (loss, biases) in [(Loss.crossEntropy, true), (.meanSquaredError, false)] {
            let fixture = try ConvolutionFixture(input: ConvolutionTests.input, layers: layers, biases: biases, loss: loss, samples: 9)
            var network = fixture.network
            network.tileBudget = 16 * 4 * network.stages.map(\.largestBuffer).max()!   // several kept tiles
            let kept = try #require(network.linearized(fixture.parameters, on: fixture.batch))
            #expect(kept.keptBytes == network.linearizationBytes(samples: 9))
            for count in [1, 16, 21] {
                var random = SplitMix64(seed: UInt64(count))
                let v = (0..<(network.parameterCount * count)).map { _ in random.nextNormal() }
                for residual in [true, false] {
                    let recomputed = residual ? network.hessianVectorProduct(fixture.parameters, on: fixture.batch, directions: v, count: count)
                                              : network.gaussNewtonVectorProduct(fixture.parameters, on: fixture.batch, directions: v, count: count)
                    #expect(relativeError(kept.curvatureProduct(v, count: count, residual: residual), recomputed) <= 1e-13,
                            "\(loss) B = \(count) residual \(residual)")
                }
            }
        }
    }
}
