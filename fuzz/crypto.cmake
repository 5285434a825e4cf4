# Fuzz targets of mg_crypto (see fuzz/CMakeLists.txt): unwrap of arbitrary DER and S/MIME,
# detached signatures, signed receipts, certificate / CRL / PKCS#12 import and OCSP responses;
# and the wrap of hostile content (crypto_wrap: sign / encrypt / triple wrap, then our own unwrap).
# All use the fixed test-only PKI in fuzz/keys (crypto_fuzz_policy.h) so that inputs can verify
# and decrypt; the gen-* seeds are made with it by fuzz/gen-crypto-corpus.sh.
if(TARGET mg_crypto)
  set(crypto_fuzz_dir ${CMAKE_CURRENT_LIST_DIR})
  mixgate_add_fuzz(NAME crypto_unwrap SOURCES ${crypto_fuzz_dir}/crypto_unwrap.c
    LIBS mg_crypto CORPUS ${crypto_fuzz_dir}/corpus/crypto_unwrap ${MIXGATE_VECTORS}/cms)
  foreach(t detached receipt certs ocsp wrap)
    mixgate_add_fuzz(NAME crypto_${t} SOURCES ${crypto_fuzz_dir}/crypto_${t}.c
      LIBS mg_crypto CORPUS ${crypto_fuzz_dir}/corpus/crypto_${t})
  endforeach()
  foreach(t unwrap detached receipt certs ocsp wrap)
    if(TARGET fuzz_crypto_${t})
      target_compile_definitions(fuzz_crypto_${t} PRIVATE FUZZ_KEYS_DIR="${crypto_fuzz_dir}/keys")
      target_include_directories(fuzz_crypto_${t} PRIVATE ${CMAKE_SOURCE_DIR}/crypto)
    endif()
  endforeach()
endif()
