{
  "targets": [
    {
      "target_name": "unlearn_native",
      "sources": ["unlearn_native.c"],
      "cflags": ["-O3", "-std=c11", "-fno-fast-math", "-ffp-contract=off", "-fno-trapping-math"],
      "libraries": ["-lopenblas", "-lpthread"]
    }
  ]
}
