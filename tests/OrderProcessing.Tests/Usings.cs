global using Microsoft.Extensions.Configuration;
global using OrderProcessing.Tests.Infrastructure;
global using Xunit;
