"""The long synthetic Responses stream shared by the benchmarks."""


def synthetic_50k() -> bytes:
    """Same stream as benches/transcode.rs: response.created, 50,000 deltas, response.completed."""
    parts = ['event: response.created\ndata: {"type":"response.created","sequence_number":0,'
             '"response":{"id":"resp_bench","object":"response","created_at":1767225600,'
             '"status":"in_progress","model":"gpt-bench","output":[]}}\n\n']
    for n in range(1, 50_001):
        parts.append('event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
                     '"item_id":"msg_1","output_index":0,"content_index":0,"delta":"tok ",'
                     f'"sequence_number":{n}}}\n\n')
    parts.append('event: response.completed\ndata: {"type":"response.completed","sequence_number":50001,'
                 '"response":{"id":"resp_bench","object":"response","created_at":1767225600,'
                 '"status":"completed","model":"gpt-bench","output":[],"usage":{"input_tokens":10,'
                 '"output_tokens":50000,"total_tokens":50010}}}\n\n')
    return "".join(parts).encode()
