// The differences between the libtorch versions flatdist builds against (Debian 12's 1.13,
// Debian 13's 2.6, pytorch.org's 2.x), chosen at compile time by libtorch's version macros.
#pragma once

#include <torch/csrc/api/include/torch/version.h>

#define FLATDIST_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// libtorch 2.3 made c10::Allocator::allocate non-const and added the pure virtual copy_data.
#if FLATDIST_TORCH_AT_LEAST(2, 3)
#define FLATDIST_ALLOCATE_CONST
#else
#define FLATDIST_ALLOCATE_CONST const
#endif
