// ELPA's C API (Debian libelpa-dev, ELPA 2022.11). ELPA works on the same BLACS block-cyclic local
// arrays as ScaLAPACK, so no redistribution is needed. `elpa_allocate`, `elpa_deallocate` and
// `elpa_uninit` are argument-counting macros Swift cannot import; these static inline functions
// expand them. No logic lives here.
#ifndef LANDSCAPE_ELPA_SHIM_H
#define LANDSCAPE_ELPA_SHIM_H
#include <elpa/elpa.h>

static inline int landscape_elpa_api_version(void) { return ELPA_API_VERSION; }
static inline elpa_t landscape_elpa_allocate(int *error) { return elpa_allocate(error); }
static inline void landscape_elpa_deallocate(elpa_t handle, int *error) { elpa_deallocate(handle, error); }
static inline void landscape_elpa_uninit(int *error) { elpa_uninit(error); }
static inline int landscape_elpa_solver_1stage(void) { return ELPA_SOLVER_1STAGE; }
static inline int landscape_elpa_solver_2stage(void) { return ELPA_SOLVER_2STAGE; }
static inline int landscape_elpa_ok(void) { return ELPA_OK; }
#endif
