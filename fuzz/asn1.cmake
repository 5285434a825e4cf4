# Fuzz targets of the X.411 / ESS / OSI upper layer (asn1/mg_asn1*): asn1_mts_apdu,
# asn1_ess_label, asn1_x411_label, asn1_ppdu, all from fuzz/asn1_fuzz.c. Corpora: the shared
# vectors' folders named directly (never copied) and small seeds in fuzz/corpus/asn1_*.
if(TARGET mg_asn1)
  set(asn1_x400_corpus "")
  set(asn1_label_corpus "")
  if(EXISTS ${MIXGATE_VECTORS}/x400/ber)
    set(asn1_x400_corpus ${MIXGATE_VECTORS}/x400/ber)
  endif()
  foreach(d labels/ess labels/spiffing/generated-ber)
    if(EXISTS ${MIXGATE_VECTORS}/${d})
      list(APPEND asn1_label_corpus ${MIXGATE_VECTORS}/${d})
    endif()
  endforeach()
  set(asn1_fuzz_dir ${CMAKE_CURRENT_LIST_DIR})
  foreach(spec "mts_apdu:MTS_APDU:x400" "ess_label:ESS_LABEL:label" "x411_label:X411_LABEL:label"
               "ppdu:PPDU:x400")
    string(REPLACE ":" ";" spec "${spec}")
    list(GET spec 0 name)
    list(GET spec 1 def)
    list(GET spec 2 kind)
    mixgate_add_fuzz(NAME asn1_${name} SOURCES ${asn1_fuzz_dir}/asn1_fuzz.c
      LIBS mg_asn1 mg_util
      CORPUS ${asn1_fuzz_dir}/corpus/asn1_${name} ${asn1_${kind}_corpus})
    if(TARGET fuzz_asn1_${name})
      target_compile_definitions(fuzz_asn1_${name} PRIVATE ASN1_FUZZ_${def}=1)
    endif()
  endforeach()
  # the seed generator (fuzz/gen-asn1-corpus.sh), built only on demand
  add_executable(gen_mts_seeds EXCLUDE_FROM_ALL ${asn1_fuzz_dir}/gen_mts_seeds.c)
  target_link_libraries(gen_mts_seeds PRIVATE mg_asn1 mg_util)
endif()
