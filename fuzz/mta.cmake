# Fuzz targets of mg_mta's parsers of outside input other than the configuration: the DSN
# builder's view of a hostile original (dsn_build), the control socket's request parser
# (control_request) and the queue store's recovery read of a damaged database
# (queue_store_recover). Seeds: fuzz/corpus/<target>/, remade by fuzz/gen-mta-corpus.sh.
if(TARGET mg_mta)
  foreach(t dsn_build control_request queue_store_recover)
    mixgate_add_fuzz(NAME ${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${t}.c LIBS mg_mta
      CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/${t})
  endforeach()
endif()
