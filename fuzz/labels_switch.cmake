# Fuzz target of the labels glue (channels/labels): extraction at submission on hostile
# messages, every location at once, the shaper's rebuild and (with the crypto component) the
# subjectDirectoryAttributes reader on the same bytes. Seeds: fuzz/corpus/labels_switch_extract/.
if(TARGET mg_labels_switch)
  mixgate_add_fuzz(NAME labels_switch_extract SOURCES ${CMAKE_CURRENT_LIST_DIR}/labels_switch_extract.c
    LIBS mg_labels_switch CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_switch_extract)
  if(TARGET mg_crypto AND TARGET fuzz_labels_switch_extract)
    target_compile_definitions(fuzz_labels_switch_extract PRIVATE MG_LSW_FUZZ_CERTS=1)
  endif()
endif()
