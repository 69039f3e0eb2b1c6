"""Result formats of other serving benchmarks: vLLM's result JSON out, vLLM and GuideLLM results in."""
