# P1 stack fuzz targets (channels/p1): TPKT/COTP reassembly, session SPDUs, presentation (with
# ACSE), RTSE (with ACSE and the MTA bind), and the whole inbound association machine.
# Corpora: our own association bytes in fuzz/corpus/p1_* (written by tests/p1/gen_p1_seeds)
# and the shared vectors' folders named directly (never copied).
if(TARGET mg_p1)
  set(p1_streams "")
  set(p1_ber "")
  if(EXISTS ${MIXGATE_VECTORS}/x400/streams)
    set(p1_streams ${MIXGATE_VECTORS}/x400/streams)
  endif()
  if(EXISTS ${MIXGATE_VECTORS}/x400/ber)
    set(p1_ber ${MIXGATE_VECTORS}/x400/ber)
  endif()
  foreach(spec "tpkt:streams" "session:none" "pres:ber" "rtse:ber" "assoc:streams")
    string(REPLACE ":" ";" spec "${spec}")
    list(GET spec 0 name)
    list(GET spec 1 kind)
    set(extra "")
    if(kind STREQUAL "streams")
      set(extra ${p1_streams})
    elseif(kind STREQUAL "ber")
      set(extra ${p1_ber})
    endif()
    mixgate_add_fuzz(NAME p1_${name} SOURCES ${CMAKE_CURRENT_LIST_DIR}/p1_${name}.c
      LIBS mg_p1 mg_util CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/p1_${name} ${extra})
  endforeach()
endif()
# The MTS-APDU mapping and relay (channels/p1/p1_mts): the real P1 message of the captures and
# our own built messages, probes and reports (fuzz/corpus/p1_mts).
if(TARGET mg_p1_mts)
  mixgate_add_fuzz(NAME p1_mts SOURCES ${CMAKE_CURRENT_LIST_DIR}/p1_mts.c
    LIBS mg_p1_mts CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/p1_mts ${p1_ber})
endif()
