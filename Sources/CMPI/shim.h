// Open MPI defines its predefined handles as macros over addresses of global objects, e.g.
// `#define MPI_COMM_WORLD ((MPI_Comm)&ompi_mpi_comm_world)`, which Swift's importer cannot see.
// These static inline accessors are the whole of this shim: no logic, no API of ours.
#ifndef LANDSCAPE_CMPI_SHIM_H
#define LANDSCAPE_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm landscape_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm landscape_mpi_comm_self(void) { return MPI_COMM_SELF; }
static inline MPI_Comm landscape_mpi_comm_null(void) { return MPI_COMM_NULL; }

static inline MPI_Datatype landscape_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype landscape_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype landscape_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype landscape_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype landscape_mpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype landscape_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype landscape_mpi_char(void) { return MPI_CHAR; }
static inline MPI_Datatype landscape_mpi_datatype_null(void) { return MPI_DATATYPE_NULL; }

static inline MPI_Op landscape_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op landscape_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op landscape_mpi_min(void) { return MPI_MIN; }

static inline void *landscape_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Info landscape_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Status *landscape_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler landscape_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_File landscape_mpi_file_null(void) { return MPI_FILE_NULL; }

/* glibc's mallopt lives in <malloc.h>, which no Swift module map of the toolchain exposes. */
#include <malloc.h>
static inline void landscape_set_malloc_thresholds(int mmap_threshold, int trim_threshold) {
    mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    mallopt(M_TRIM_THRESHOLD, trim_threshold);
}

#endif
