import CMPI
import Foundation

/// glibc serves blocks above 128 KiB (up to 32 MiB once it adapts) with fresh mmap pages and trims
/// the heap top as soon as 128 KiB are free, so every tile of the batched curvature products (a few
/// MiB of R-pass buffers, freed at the end of the tile) paid page faults and kernel page clearing
/// again and again: measured here, the 64-direction HVP of MLP 100-30-30-10 ran at 26 % of dgemm
/// with the defaults and 48 % with these thresholds (the same as `MALLOC_MMAP_THRESHOLD_` and
/// `MALLOC_TRIM_THRESHOLD_` in the environment). Blocks up to 64 MiB now come from the heap and up
/// to 256 MiB of freed heap is kept for reuse; the large matrices (H, the eigensolvers' work
/// arrays) are still mapped and returned on their own. Call once, first thing in `main`.
public func keepFreedMemoryForReuse() {
    landscape_set_malloc_thresholds(64 << 20, 256 << 20)
}
