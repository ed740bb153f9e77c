{
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
        "native/jit.cc",
        "native/combine.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc!": ["-fno-rtti", "-fno-exceptions", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": [
        "-std=c++17", "-O2", "-frtti", "-fexceptions", "-Wno-unused-parameter", "-Wno-deprecated-declarations",
        "<!@(node -p \"process.env.FLATDIST_TORCH_CFLAGS || '-O2'\")"
      ],
      "libraries": ["<!@(node -p \"process.env.FLATDIST_TORCH_LIBS || '-ltorch -ltorch_cpu -lc10 -lgloo'\")"]
    }
  ]
}
