# Fuzz target of the labels glue (channels/labels): extraction at submission on hostile
# messages, every location at once, and the shaper's rebuild. Seeds: fuzz/corpus/labels_switch_extract/.
if(TARGET mg_labels_switch)
  mixgate_add_fuzz(NAME labels_switch_extract SOURCES ${CMAKE_CURRENT_LIST_DIR}/labels_switch_extract.c
    LIBS mg_labels_switch CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_switch_extract)
endif()
