#pragma once
#include <fcgiapp.h>
// The server waits on its connections with epoll (see Poller.swift).
#include <sys/epoll.h>
#include <malloc.h>  // mallopt: see FastCGIServer.initialize
