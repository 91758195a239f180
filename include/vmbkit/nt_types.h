/* SPDX-License-Identifier: MIT */
/* The Windows kernel types that KMCL code uses, with Windows (LLP64) widths on Linux x86-64:
 * ULONG and LONG are 32 bits, ULONG_PTR and PFN_NUMBER 64. C11 and C++. This header declares
 * types only; the MDL helpers (IoAllocateMdl, MmGetMdlPfnArray, ...) are in vmbkit/mdl.h.
 * Layouts are pinned by static_asserts in src/memory/nt_types_test.cc; tests/c_api compiles
 * this header as C11 (through kmcl.h). */
#ifndef VMBKIT_NT_TYPES_H_
#define VMBKIT_NT_TYPES_H_

#include <stddef.h>
#include <stdint.h>

#include "vmbkit/ntstatus.h"

#ifndef VOID
#define VOID void
#endif
#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

typedef void* PVOID;
typedef uint8_t BOOLEAN;
typedef BOOLEAN* PBOOLEAN;
typedef char CHAR;
typedef CHAR* PCHAR;
typedef char CCHAR;
typedef uint8_t UCHAR;
typedef UCHAR* PUCHAR;
typedef int16_t CSHORT;
typedef uint16_t USHORT;
typedef USHORT* PUSHORT;
typedef uint32_t ULONG;
typedef ULONG* PULONG;
typedef int32_t LONG;
typedef LONG* PLONG;
typedef int64_t LONGLONG;
typedef uint64_t ULONGLONG;
typedef uint8_t UINT8;
typedef uint16_t UINT16;
typedef uint32_t UINT32;
typedef uint64_t UINT64;
typedef UINT8* PUINT8;
typedef UINT16* PUINT16;
typedef UINT32* PUINT32;
typedef UINT64* PUINT64;
typedef uintptr_t ULONG_PTR;
typedef ULONG_PTR SIZE_T;
typedef ULONG_PTR PFN_NUMBER;
typedef PFN_NUMBER* PPFN_NUMBER;
typedef uint16_t WCHAR; /* Windows wide characters are UTF-16 code units */
typedef WCHAR* PWCH;
typedef const WCHAR* PCWSTR;
typedef void* HANDLE;
typedef HANDLE* PHANDLE;

/* KeWaitForSingleObject-style times: 100 ns units; negative = relative, positive = absolute
 * (since 1601-01-01 UTC). */
typedef union _LARGE_INTEGER {
  struct {
    ULONG LowPart;
    LONG HighPart;
  } u;
  LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef struct _GUID {
  uint32_t Data1;
  uint16_t Data2;
  uint16_t Data3;
  uint8_t Data4[8];
} GUID, *LPGUID;
typedef const GUID* LPCGUID;

typedef struct _UNICODE_STRING {
  USHORT Length;        /* bytes, without a terminator */
  USHORT MaximumLength; /* bytes */
  PWCH Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING* PCUNICODE_STRING;

/* Opaque kernel objects. In vmbkit a DEVICE_OBJECT is a bus (VmbKitLoopbackBusCreate, ...). */
typedef struct _DEVICE_OBJECT DEVICE_OBJECT, *PDEVICE_OBJECT;
typedef struct _EPROCESS* PEPROCESS;

/* Processor modes; vmbkit code is always "kernel mode" (MmMapLockedPagesSpecifyCache). */
typedef CCHAR KPROCESSOR_MODE;
typedef enum _MODE { KernelMode, UserMode, MaximumMode } MODE;

/* Cache types of MmMapLockedPagesSpecifyCache (accepted and ignored: guest memory is ordinary
 * cached shared memory). */
typedef enum _MEMORY_CACHING_TYPE {
  MmNotMapped = -1,
  MmNonCached = 0,
  MmCached = 1,
  MmWriteCombined = 2,
  MmHardwareCoherentCached = 3,
  MmNonCachedUnordered = 4,
  MmUSWCCached = 5,
  MmMaximumCacheType = 6
} MEMORY_CACHING_TYPE;

/* Priorities of MmGetSystemAddressForMdlSafe (accepted and ignored). */
typedef enum _MM_PAGE_PRIORITY {
  LowPagePriority = 0,
  NormalPagePriority = 16,
  HighPagePriority = 32
} MM_PAGE_PRIORITY;

/* Memory descriptor list, with the Windows x64 layout (48 bytes); the PFN array follows the
 * struct in the same allocation. */
typedef struct _MDL {
  struct _MDL* Next;
  CSHORT Size; /* bytes of this MDL including its PFN array */
  CSHORT MdlFlags;
  PEPROCESS Process;
  PVOID MappedSystemVa;
  PVOID StartVa; /* page-aligned virtual address of the first page */
  ULONG ByteCount;
  ULONG ByteOffset; /* offset of the first byte within the first page */
} MDL, *PMDL;

#endif /* VMBKIT_NT_TYPES_H_ */
