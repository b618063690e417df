"""smolagents: a ToolCallingAgent and a CodeAgent (unary, then streaming outputs) with one tool.
Default settings; BASE_URL points at the gateway. The model id does not look like o3 / o4 /
gpt-5 / grok, so smolagents sends its stop sequences."""

import os

from smolagents import CodeAgent, OpenAIServerModel, ToolCallingAgent, tool


@tool
def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city.
    """
    return f"Sunny, 21 °C in {city}"


model = OpenAIServerModel(model_id="gpt-4o", api_base=os.environ["BASE_URL"], api_key="x")
answer = ToolCallingAgent(tools=[get_weather], model=model, max_steps=3).run(
    "What is the weather in Paris?")
assert "Sunny" in str(answer), answer
print(answer)
for stream in (False, True):
    # The step's text runs past "</code>" into a made-up observation: the gateway ends it at the
    # stop sequence, and smolagents closes the code block itself.
    answer = CodeAgent(tools=[get_weather], model=model, max_steps=2,
                       stream_outputs=stream).run("What is the weather in Paris?")
    assert answer == "Sunny, 21 °C", answer
    print(answer)
