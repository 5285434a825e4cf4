# Fuzz target of the key process's request parser (channels/cms/cms_keyproc_proto.c): what a
# buggy or compromised network-facing process could send it.
if(TARGET mg_cms_channel)
  mixgate_add_fuzz(NAME cms_keyproc_request SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cms_keyproc_request.c
    LIBS mg_cms_channel CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/cms_keyproc_request)
endif()

# The cms channel's reading of a message label's classification (labels come from outside).
if(TARGET mg_cms_channel)
  mixgate_add_fuzz(NAME cms_label_class SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cms_label_class.c
    LIBS mg_cms_channel CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/cms_label_class)
endif()

# The cms channel's header rewriting for the Subject keyword and the rules' header.
if(TARGET mg_cms_channel)
  mixgate_add_fuzz(NAME cms_take_fields SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cms_take_fields.c
    LIBS mg_cms_channel CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/cms_take_fields)
endif()
