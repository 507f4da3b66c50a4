#include <metal_stdlib>
using namespace metal;

// Generated from the ONNX function `{{ function_ref }}`.
kernel void {{ kernel_name }}(
    {{ arguments | indent(4) }}
    uint3 gid [[thread_position_in_grid]])
{
    if (gid.x >= {{ first_output }}.get_width() || gid.y >= {{ first_output }}.get_height()
        || gid.z >= {{ first_output }}.get_array_size()) {
        return;
    }
    {{ parameter_locals | indent(4) }}
    {{ loads | indent(4) }}
    {{ statements | indent(4) }}
    {{ stores | indent(4) }}
}
