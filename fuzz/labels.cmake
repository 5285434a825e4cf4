# labels fuzz targets (sources fuzz/labels_*.c, seeds fuzz/corpus/labels_*/): SPIF loader, BER
# decoders (ESS, EquivalentLabels, X.411, X.841), SIO-Label / X-X411 headers, XML labels and
# the display marking parser.
if(TARGET mg_labels)
  mixgate_add_fuzz(NAME labels_spif SOURCES ${CMAKE_CURRENT_LIST_DIR}/labels_spif.c LIBS mg_labels
    CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_spif)
  mixgate_add_fuzz(NAME labels_xml SOURCES ${CMAKE_CURRENT_LIST_DIR}/labels_xml.c LIBS mg_labels
    CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_xml)
  mixgate_add_fuzz(NAME labels_marking SOURCES ${CMAKE_CURRENT_LIST_DIR}/labels_marking.c LIBS mg_labels
    CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_marking)
  # format detection, dispatch and clearances through lbl_codec; the other labels seeds too
  mixgate_add_fuzz(NAME labels_codec SOURCES ${CMAKE_CURRENT_LIST_DIR}/labels_codec.c LIBS mg_labels
    CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_codec ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_xml
           ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_ber ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_header)
  get_target_property(_lbl_defs mg_labels INTERFACE_COMPILE_DEFINITIONS)
  if(_lbl_defs MATCHES "MG_LABELS_HAVE_BER")
    mixgate_add_fuzz(NAME labels_ber SOURCES ${CMAKE_CURRENT_LIST_DIR}/labels_ber.c LIBS mg_labels
      CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_ber)
    mixgate_add_fuzz(NAME labels_header SOURCES ${CMAKE_CURRENT_LIST_DIR}/labels_header.c LIBS mg_labels
      CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/labels_header)
  endif()
endif()
