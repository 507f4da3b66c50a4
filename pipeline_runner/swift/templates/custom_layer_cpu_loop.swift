for index in 0..<count {
    {{ loads | indent(4) }}
    {{ statements | indent(4) }}
    {{ stores | indent(4) }}
}
