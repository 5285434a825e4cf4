# Fuzz targets of mg_crypto (see fuzz/CMakeLists.txt): unwrap of arbitrary DER and S/MIME.
if(TARGET mg_crypto)
  mixgate_add_fuzz(NAME crypto_unwrap SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/crypto_unwrap.c
    LIBS mg_crypto CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/crypto_unwrap ${MIXGATE_VECTORS}/cms)
endif()
