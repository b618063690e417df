"""The long synthetic Responses stream shared by the benchmarks."""


def synthetic(deltas: int) -> bytes:
    """response.created, `deltas` one-token text deltas, response.completed."""
    parts = ['event: response.created\ndata: {"type":"response.created","sequence_number":0,'
             '"response":{"id":"resp_bench","object":"response","created_at":1767225600,'
             '"status":"in_progress","model":"gpt-bench","output":[]}}\n\n']
    for n in range(1, deltas + 1):
        parts.append('event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
                     '"item_id":"msg_1","output_index":0,"content_index":0,"delta":"tok ",'
                     f'"sequence_number":{n}}}\n\n')
    parts.append(f'event: response.completed\ndata: {{"type":"response.completed","sequence_number":{deltas + 1},'
                 '"response":{"id":"resp_bench","object":"response","created_at":1767225600,'
                 f'"status":"completed","model":"gpt-bench","output":[],"usage":{{"input_tokens":10,'
                 f'"output_tokens":{deltas},"total_tokens":{deltas + 10}}}}}}}\n\n')
    return "".join(parts).encode()


def synthetic_50k() -> bytes:
    """Same stream as benches/transcode.rs: response.created, 50,000 deltas, response.completed."""
    return synthetic(50_000)
