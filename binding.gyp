{
  "variables": {
    "libtorch_dir%": "<!(node -p \"process.env.LIBTORCH_DIR || ''\")"
  },
  "targets": [
    {
      "target_name": "flatdist",
      "sources": [
        "native/addon.cc",
        "native/tensor.cc",
        "native/ops.cc",
        "native/autograd.cc",
        "native/random.cc",
        "native/runtime.cc",
        "native/dist.cc",
        "native/store.cc",
        "native/allocator.cc",
        "native/jit.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc!": ["-fno-rtti", "-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-frtti", "-fexceptions", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "conditions": [
        ["libtorch_dir==''", {
          "libraries": ["-ltorch", "-ltorch_cpu", "-lc10", "-lgloo"]
        }, {
          "include_dirs": ["<(libtorch_dir)/include", "<(libtorch_dir)/include/torch/csrc/api/include"],
          "libraries": ["-L<(libtorch_dir)/lib", "-Wl,-rpath,<(libtorch_dir)/lib", "-ltorch", "-ltorch_cpu", "-lc10", "-lgloo"]
        }]
      ]
    }
  ]
}
