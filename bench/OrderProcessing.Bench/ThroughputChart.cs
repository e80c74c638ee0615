using System.Globalization;
using System.Text;

namespace OrderProcessing.Bench;

/// <summary>Throughput against concurrency as a plain SVG line chart: one line per series, concurrency levels evenly spaced.</summary>
internal static class ThroughputChart
{
    private const int Width = 640;
    private const int Height = 360;
    private const int Left = 64;
    private const int Right = 180;
    private const int Top = 40;
    private const int Bottom = 48;

    public static string Svg(string title, IReadOnlyList<int> levels, IReadOnlyList<(string Name, string Colour, IReadOnlyList<double> Values)> series)
    {
        var max = NiceCeiling(series.SelectMany(s => s.Values).DefaultIfEmpty(1).Max());
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        double X(int i) => Left + (levels.Count == 1 ? plotWidth / 2.0 : i * plotWidth / (double)(levels.Count - 1));
        double Y(double v) => Top + plotHeight - (v / max * plotHeight);
        string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

        var svg = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" viewBox="0 0 {Width} {Height}" font-family="sans-serif" font-size="12">""")
            .AppendLine(CultureInfo.InvariantCulture, $"""  <rect width="{Width}" height="{Height}" fill="white"/>""")
            .AppendLine(CultureInfo.InvariantCulture, $"""  <text x="{Width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">{Escape(title)}</text>""");
        for (var step = 0; step <= 5; step++)
        {
            var value = max * step / 5;
            svg.AppendLine(CultureInfo.InvariantCulture, $"""  <line x1="{Left}" y1="{F(Y(value))}" x2="{Left + plotWidth}" y2="{F(Y(value))}" stroke="#ddd"/>""")
                .AppendLine(CultureInfo.InvariantCulture, $"""  <text x="{Left - 8}" y="{F(Y(value) + 4)}" text-anchor="end">{F(value)}</text>""");
        }

        for (var i = 0; i < levels.Count; i++)
        {
            svg.AppendLine(CultureInfo.InvariantCulture, $"""  <text x="{F(X(i))}" y="{Top + plotHeight + 18}" text-anchor="middle">{levels[i]}</text>""");
        }

        svg.AppendLine(CultureInfo.InvariantCulture, $"""  <text x="{Left + (plotWidth / 2)}" y="{Height - 10}" text-anchor="middle">concurrent clients</text>""")
            .AppendLine(CultureInfo.InvariantCulture, $"""  <text x="16" y="{Top + (plotHeight / 2)}" text-anchor="middle" transform="rotate(-90 16 {Top + (plotHeight / 2)})">per second</text>""")
            .AppendLine(CultureInfo.InvariantCulture, $"""  <line x1="{Left}" y1="{Top}" x2="{Left}" y2="{Top + plotHeight}" stroke="#333"/>""")
            .AppendLine(CultureInfo.InvariantCulture, $"""  <line x1="{Left}" y1="{Top + plotHeight}" x2="{Left + plotWidth}" y2="{Top + plotHeight}" stroke="#333"/>""");
        for (var s = 0; s < series.Count; s++)
        {
            var (name, colour, values) = series[s];
            var points = string.Join(' ', values.Select((v, i) => $"{F(X(i))},{F(Y(v))}"));
            svg.AppendLine(CultureInfo.InvariantCulture, $"""  <polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>""");
            for (var i = 0; i < values.Count; i++)
            {
                svg.AppendLine(CultureInfo.InvariantCulture, $"""  <circle cx="{F(X(i))}" cy="{F(Y(values[i]))}" r="3.5" fill="{colour}"><title>{Escape(name)}: {F(values[i])}/s at {levels[i]}</title></circle>""");
            }

            var legendY = Top + 10 + (s * 20);
            svg.AppendLine(CultureInfo.InvariantCulture, $"""  <line x1="{Width - Right + 16}" y1="{legendY}" x2="{Width - Right + 36}" y2="{legendY}" stroke="{colour}" stroke-width="2"/>""")
                .AppendLine(CultureInfo.InvariantCulture, $"""  <text x="{Width - Right + 42}" y="{legendY + 4}">{Escape(name)}</text>""");
        }

        return svg.AppendLine("</svg>").ToString();
    }

    private static double NiceCeiling(double value)
    {
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(Math.Max(value, 1))));
        return new[] { 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10 }.Select(m => m * magnitude).First(c => c >= value);
    }

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
