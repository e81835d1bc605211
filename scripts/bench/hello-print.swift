// The floor under the start-up ceiling: a static Swift program that only prints.
print("hello")
