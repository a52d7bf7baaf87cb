// OpenBLAS's CBLAS, on its own: the serial modules (Networks, Curvature's per-sample math) need
// dgemm and nothing of MPI or ScaLAPACK, so they link this instead of CScaLAPACK. No logic here.
#ifndef LANDSCAPE_CBLAS_SHIM_H
#define LANDSCAPE_CBLAS_SHIM_H
#include <cblas.h>
#endif
