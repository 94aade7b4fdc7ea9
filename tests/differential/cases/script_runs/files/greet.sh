#!/bin/sh
# Writes where it ran and what it was given.
printf '%s|%s\n' "$1" "$2" > "$3/args"
pwd > "$3/cwd"
echo "greeted $1"
