"""CrewAI: one agent with one tool in a one-task crew. Default settings; BASE_URL points at the
gateway."""

import os

from crewai import LLM, Agent, Crew, Task
from crewai.tools import tool


@tool("get_weather")
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny, 21 °C in {city}"


llm = LLM(model="openai/gpt-4o", base_url=os.environ["BASE_URL"], api_key="x")
agent = Agent(role="Weather reporter", goal="Report the weather of a city",
              backstory="You read the weather with your tool.", tools=[get_weather], llm=llm,
              max_iter=3)
task = Task(description="What is the weather in Paris?", expected_output="One sentence.",
            agent=agent)
result = Crew(agents=[agent], tasks=[task]).kickoff()
assert "sunny" in str(result).lower(), result
print(result)
