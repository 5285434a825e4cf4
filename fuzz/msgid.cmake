# Fuzz target of the Message-ID extraction (owner: service): message content is outside input.
# Seeds: fuzz/corpus/msgid/.
if(TARGET mg_mta)
  mixgate_add_fuzz(NAME msgid
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/msgid.c
    LIBS mg_mta
    CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/msgid)
endif()
