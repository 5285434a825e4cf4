# Fuzz targets of the X.420 / P772 layer (asn1/mg_ipm, asn1/mg_print): ipm_info (P2/P22
# InformationObject) and ipm_mm (P772 MMInformationObject). Corpora: our generated vectors,
# the real P772 content and P1 captures from the shared vectors (named, never copied), and
# small seeds in fuzz/corpus/ipm_*.
if(TARGET mg_asn1)
  set(ipm_corpus ${CMAKE_SOURCE_DIR}/test-vectors/ipm)
  if(EXISTS ${MIXGATE_VECTORS}/x400/ber)
    list(APPEND ipm_corpus ${MIXGATE_VECTORS}/x400/ber)
  endif()
  mixgate_add_fuzz(NAME ipm_info SOURCES ${CMAKE_SOURCE_DIR}/fuzz/ipm_decode.c
    LIBS mg_asn1 mg_util CORPUS ${CMAKE_SOURCE_DIR}/fuzz/corpus/ipm_info ${ipm_corpus})
  mixgate_add_fuzz(NAME ipm_mm SOURCES ${CMAKE_SOURCE_DIR}/fuzz/ipm_decode.c
    LIBS mg_asn1 mg_util CORPUS ${CMAKE_SOURCE_DIR}/fuzz/corpus/ipm_mm ${ipm_corpus})
  target_compile_definitions(fuzz_ipm_mm PRIVATE IPM_FUZZ_MM=1)
endif()
