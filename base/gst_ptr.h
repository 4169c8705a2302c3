#pragma once
// Owning smart pointers for GLib/GStreamer objects, so that vigil code never calls *_unref by hand.
// GstPtr<T> owns one reference; Borrow a raw pointer with .get(). Adopt a "transfer full" return
// with GstPtr<T>(ptr); take an extra reference on a "transfer none" pointer with GstRef(ptr).

#include <memory>
#include <type_traits>

#include <gst/gst.h>

namespace vigil {

struct GstUnref {
  void operator()(GstCaps* p) const { gst_caps_unref(p); }
  void operator()(GstBuffer* p) const { gst_buffer_unref(p); }
  void operator()(GstSample* p) const { gst_sample_unref(p); }
  void operator()(GstMessage* p) const { gst_message_unref(p); }
  void operator()(GstEvent* p) const { gst_event_unref(p); }
  void operator()(GstQuery* p) const { gst_query_unref(p); }
  void operator()(GError* p) const { g_error_free(p); }
  void operator()(gchar* p) const { g_free(p); }
  void operator()(GstStructure* p) const { gst_structure_free(p); }
  void operator()(GMainLoop* p) const { g_main_loop_unref(p); }
  void operator()(GMainContext* p) const { g_main_context_unref(p); }
  template <typename T>
    requires std::is_convertible_v<T*, GObject*> || std::is_convertible_v<T*, GstObject*> ||
             requires(T* t) { G_OBJECT(t); }
  void operator()(T* p) const {
    g_object_unref(p);
  }
};

template <typename T>
using GstPtr = std::unique_ptr<T, GstUnref>;

// Takes a new reference on a GstObject/GObject borrowed from elsewhere.
template <typename T>
GstPtr<T> GstRef(T* p) {
  if (p) g_object_ref(p);
  return GstPtr<T>(p);
}

// Initialises GStreamer once per process (thread-safe, idempotent).
void EnsureGstInit();

}  // namespace vigil
