# Fuzz targets of the cms channel's EquivalentLabels (labels from outside, decoded strictly
# before they are signed) and of the P1 channel's handling of CMS-protected X.400 content
# (RFC 3854/3855: the content recognised by its bytes, the stored envelope retyped).
if(TARGET mg_cms_channel)
  mixgate_add_fuzz(NAME cms_equiv SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cms_equiv.c
    LIBS mg_cms_channel CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/cms_equiv)
endif()
if(TARGET mg_p1_mts)
  mixgate_add_fuzz(NAME p1_cms SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/p1_cms.c
    LIBS mg_p1_mts CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/p1_cms)
endif()
