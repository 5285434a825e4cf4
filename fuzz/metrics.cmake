# Fuzz target of the metrics listener's request parser (owner: service): the scrape request
# comes from the network. Seeds: fuzz/corpus/metrics_http/.
if(TARGET mg_mta)
  mixgate_add_fuzz(NAME metrics_http
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/metrics_http.c
    LIBS mg_mta
    CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/metrics_http)
endif()
