// Declarations of the BLACS / ScaLAPACK / PBLAS routines we call. Debian ships no C header for
// them: these are the Fortran symbols of libscalapack-openmpi (every argument by pointer; with
// gfortran one trailing `size_t` hidden length per CHARACTER argument — pass 1 for each).
// CBLAS and LAPACKE come from OpenBLAS / LAPACKE's own headers. No logic lives here.
#ifndef LANDSCAPE_SCALAPACK_H
#define LANDSCAPE_SCALAPACK_H
#include <stddef.h>
#include <cblas.h>
#include <lapacke.h>

// BLACS (C interface)
void Cblacs_pinfo(int *mypnum, int *nprocs);
void Cblacs_get(int icontxt, int what, int *val);
void Cblacs_gridinit(int *icontxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int icontxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int icontxt);
int Csys2blacs_handle(void *mpi_comm);   // takes an MPI_Comm (a pointer in Open MPI)

// Tools
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ictxt, const int *lld, int *info);

// Symmetric eigensolvers
void pdsyevd_(const char *jobz, const char *uplo, const int *n,
              double *a, const int *ia, const int *ja, const int *desca,
              double *w, double *z, const int *iz, const int *jz, const int *descz,
              double *work, const int *lwork, int *iwork, const int *liwork, int *info,
              size_t jobz_len, size_t uplo_len);
void pdsyev_(const char *jobz, const char *uplo, const int *n,
             double *a, const int *ia, const int *ja, const int *desca,
             double *w, double *z, const int *iz, const int *jz, const int *descz,
             double *work, const int *lwork, int *info,
             size_t jobz_len, size_t uplo_len);
void pdsyevr_(const char *jobz, const char *range, const char *uplo, const int *n,
              double *a, const int *ia, const int *ja, const int *desca,
              const double *vl, const double *vu, const int *il, const int *iu,
              int *m, int *nz, double *w, double *z, const int *iz, const int *jz, const int *descz,
              double *work, const int *lwork, int *iwork, const int *liwork, int *info,
              size_t jobz_len, size_t range_len, size_t uplo_len);

// PBLAS: sub(C) := beta*sub(C) + alpha*sub(A)ᵀ
void pdtran_(const int *m, const int *n, const double *alpha,
             const double *a, const int *ia, const int *ja, const int *desca,
             const double *beta, double *c, const int *ic, const int *jc, const int *descc);

// Redistribution: sub(B) := sub(A), between any two block-cyclic layouts within context ictxt
void pdgemr2d_(const int *m, const int *n,
               const double *a, const int *ia, const int *ja, const int *desca,
               double *b, const int *ib, const int *jb, const int *descb, const int *ictxt);
#endif
