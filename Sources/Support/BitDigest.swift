/// A cheap digest of vectors' exact bits (64-bit FNV-1a over every value's bit pattern): the part of
/// a checkpoint's identity that says "the same input vectors", since files may change under the
/// same name. Not cryptographic; equal bits give equal digests on every platform.
public func bitDigest(_ vectors: [Double]...) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for vector in vectors {
        for x in vector { hash = (hash ^ x.bitPattern) &* 0x100_0000_01b3 }
    }
    return String(hash, radix: 16)
}
