{
  "targets": [
    {
      "target_name": "isthmus",
      "sources": [
        "native/addon.cc",
        "native/reuseport.cc",
        "native/connection_acceptor.cc",
        "native/http_head_parser.cc",
        "native/partial_head_check.cc",
        "native/header_semantics.cc",
        "native/chunked_decoder.cc",
        "native/response_framer.cc",
        "native/load_loop.cc",
        "native/socket_io.cc",
        "native/socket_transport.cc",
        "native/socket_tls.cc",
        "native/socket_tls_napi.cc",
        "native/tls_cert_info.cc",
        "native/tls_context.cc",
        "native/byte_queue.cc",
        "native/tls_bio.cc",
        "native/tls_session.cc",
        "native/tls_napi.cc",
        "native/x509_csr.cc",
        "native/x509_csr_asn1.cc",
        "native/x509_issue.cc",
        "native/x509_napi.cc",
        "native/h2_request_head.cc",
        "native/h2_mem_pool.cc",
        "native/h2_session_base.cc",
        "native/h2_session.cc",
        "native/h2_napi.cc",
        "native/h2_client_session.cc",
        "native/h2_client_napi.cc",
        "native/malloc_tuning.cc",
        "native/binary_pages.cc",
        "native/startup_page_releaser.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/vendor/nghttp2"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS"
      ],
      "cflags!": [ "-fexceptions", "-O2", "-O0" ],
      "cflags_cc!": [ "-fexceptions", "-O2", "-O0" ],
      "cflags": [ "-O3", "-fno-exceptions", "-Wall", "-Wextra", "-Wno-unused-parameter" ],
      "cflags_cc": [ "-O3", "-fno-exceptions", "-std=gnu++17" ],
      # Bind every symbol the addon takes from node at load time (startup), not at each one's first call: a lazy
      # bind under load reads node's dynamic symbol tables back in (~3.8 MB of peak RSS with --workers 2).
      "ldflags": [ "-Wl,-z,now" ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
        "GCC_OPTIMIZATION_LEVEL": "3"
      }
    }
  ]
}
