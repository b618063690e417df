"""AutoGen (autogen-agentchat + autogen-ext[openai]): an AssistantAgent with one tool, reflecting
on its result, unary then streaming. Default settings; BASE_URL points at the gateway."""

import asyncio
import os

from autogen_agentchat.agents import AssistantAgent
from autogen_ext.models.openai import OpenAIChatCompletionClient


async def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny, 21 °C in {city}"


async def main():
    for stream in (False, True):
        client = OpenAIChatCompletionClient(model="gpt-4o", base_url=os.environ["BASE_URL"],
                                            api_key="x", max_retries=0)
        agent = AssistantAgent("assistant", model_client=client, tools=[get_weather],
                               reflect_on_tool_use=True, model_client_stream=stream)
        result = await agent.run(task="What is the weather in Paris?")
        answer = result.messages[-1].content
        assert "sunny" in str(answer).lower(), result
        print(answer)
        await client.close()


asyncio.run(main())
