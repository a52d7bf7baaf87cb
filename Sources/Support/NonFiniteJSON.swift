import Foundation

/// JSON that carries non-finite doubles, as the strings "nan", "inf" and "-inf": a far point's
/// loss, a diverged eigenvalue. Every summary, checkpoint and shared verdict uses these, so what
/// one writes the others read.
public enum NonFiniteJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
