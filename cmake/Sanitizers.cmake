# The unit tests and the fuzzers run under AddressSanitizer and UndefinedBehaviorSanitizer, in one
# clang build tree (scripts/test.sh configures build/sanitize with SLUICE_SANITIZE=ON and
# SLUICE_FUZZ=ON). libstdc++'s assertions catch indexing past a vector's size but within its
# capacity, which AddressSanitizer misses; they do not change the library's ABI.
if(SLUICE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined -D_GLIBCXX_ASSERTIONS)
  add_link_options(-fsanitize=address,undefined)
endif()
