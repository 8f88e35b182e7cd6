#!/usr/bin/env bash
echo crlf
