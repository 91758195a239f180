/* SPDX-License-Identifier: MIT */
/* The NTSTATUS values vmbkit returns, as one X-macro table (name, value, message) that
 * generates the C constants here and the C++ constants and to_string in vmbkit/status.h, so no
 * value is ever translated by hand. Values match Microsoft's ntstatus.h. This header is C11
 * and C++. */
#ifndef VMBKIT_NTSTATUS_H_
#define VMBKIT_NTSTATUS_H_

#include <stdint.h>

#ifndef VMBKIT_NTSTATUS_DEFINED
#define VMBKIT_NTSTATUS_DEFINED
typedef int32_t NTSTATUS;
#endif

/* X(name, value, message). */
#define VMBKIT_NTSTATUS_TABLE(X)                                                             \
  X(STATUS_SUCCESS, 0x00000000, "the operation completed successfully")                      \
  X(STATUS_TIMEOUT, 0x00000102, "the wait timed out")                                        \
  X(STATUS_PENDING, 0x00000103, "the operation is pending; try again later")                 \
  X(STATUS_BUFFER_OVERFLOW, 0x80000005, "the data did not fit (not queued or partial)")      \
  X(STATUS_UNSUCCESSFUL, 0xC0000001, "the operation failed")                                 \
  X(STATUS_NOT_IMPLEMENTED, 0xC0000002, "the function has no meaning in vmbkit")             \
  X(STATUS_INVALID_DEVICE_REQUEST, 0xC0000010, "not allowed for this endpoint role")         \
  X(STATUS_INVALID_PARAMETER, 0xC000000D, "an argument is invalid")                          \
  X(STATUS_MORE_PROCESSING_REQUIRED, 0xC0000016, "more data must be processed")              \
  X(STATUS_NO_MEMORY, 0xC0000017, "not enough memory")                                       \
  X(STATUS_BUFFER_TOO_SMALL, 0xC0000023, "the buffer is too small")                          \
  X(STATUS_NOT_SUPPORTED, 0xC00000BB, "the request is not supported")                        \
  X(STATUS_INSUFFICIENT_RESOURCES, 0xC000009A, "insufficient resources")                     \
  X(STATUS_INVALID_PARAMETER_1, 0xC00000EF, "the first argument is invalid")                 \
  X(STATUS_INVALID_PARAMETER_2, 0xC00000F0, "the second argument is invalid")                \
  X(STATUS_INVALID_PARAMETER_3, 0xC00000F1, "the third argument is invalid")                 \
  X(STATUS_INVALID_PARAMETER_4, 0xC00000F2, "the fourth argument is invalid")                \
  X(STATUS_INVALID_PARAMETER_5, 0xC00000F3, "the fifth argument is invalid")                 \
  X(STATUS_INVALID_PARAMETER_6, 0xC00000F4, "the sixth argument is invalid")                 \
  X(STATUS_OBJECT_NAME_COLLISION, 0xC0000035, "an offer with this type and instance exists") \
  X(STATUS_CANCELLED, 0xC0000120, "the request was cancelled")                               \
  X(STATUS_INVALID_DEVICE_STATE, 0xC0000184, "the channel is not in a state for this call")  \
  X(STATUS_DEVICE_REMOVED, 0xC00002B6, "the channel was closed, failed or removed")          \
  X(STATUS_ACCESS_DENIED, 0xC0000022, "the peer is not allowed")                             \
  X(STATUS_CONNECTION_REFUSED, 0xC0000236, "the bus refused the connection")                 \
  X(STATUS_REVISION_MISMATCH, 0xC0000059, "no common protocol version")                      \
  X(STATUS_DATA_ERROR, 0xC000003E, "the peer wrote malformed data")

/* The constants are enumerators (integer constant expressions, usable in switch labels in C
 * and C++). NTSTATUS error values do not fit a positive int, so each is converted to int32. */
#ifdef __cplusplus
#define VMBKIT_AS_NTSTATUS(value) static_cast<int32_t>(value)
#else
#define VMBKIT_AS_NTSTATUS(value) ((int32_t)(value))
#endif
enum VmbKitNtStatusConstants {
#define VMBKIT_NTSTATUS_ENUMERATOR(name, value, message) name = VMBKIT_AS_NTSTATUS(value),
  VMBKIT_NTSTATUS_TABLE(VMBKIT_NTSTATUS_ENUMERATOR)
#undef VMBKIT_NTSTATUS_ENUMERATOR
};

#ifdef __cplusplus
extern "C" {
#endif
/* The table's name for Status ("STATUS_CANCELLED"), or "STATUS_<unknown>"; never NULL. */
const char* VmbKitStatusName(NTSTATUS Status);
#ifdef __cplusplus
}
#endif

#ifndef NT_SUCCESS
#define NT_SUCCESS(Status) (VMBKIT_AS_NTSTATUS(Status) >= 0)
#endif

#endif /* VMBKIT_NTSTATUS_H_ */
