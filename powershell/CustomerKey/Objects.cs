// The JSON the engine takes and gives, turned into and out of PowerShell objects in one pass.
// ConvertTo-Json/ConvertFrom-Json cost most of a call's time, turned every date-like string
// (tag values too) into [datetime], and refused keys that differ only in case; this converts
// by the output type's described properties instead. The module compiles it with Native.cs.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using System.Security;
using System.Text;
using System.Text.Json;

namespace CustomerKey.Native
{
    /// How a result property is shaped in PowerShell; the registry describes each output type's.
    public enum PropertyKind
    {
        Plain,
        DateTime,
        Bytes,
        Hashtable,
    }

    /// One output type's conversions: property name -> kind, for the type and the objects nested
    /// in it (Attributes, KeyHealth, ...), whose properties share the names.
    public sealed class OutputShape
    {
        private readonly Dictionary<string, PropertyKind> kinds =
            new Dictionary<string, PropertyKind>(StringComparer.OrdinalIgnoreCase);

        public OutputShape(string typeName)
        {
            TypeName = typeName;
        }

        public string TypeName { get; private set; }

        public void Add(string property, PropertyKind kind)
        {
            kinds[property] = kind;
        }

        public PropertyKind KindOf(string property)
        {
            PropertyKind kind;
            return kinds.TryGetValue(property, out kind) ? kind : PropertyKind.Plain;
        }
    }

    /// What Invoke-NativeOperation needs of one operation on every call, worked out once at import
    /// from the registry (ck_describe) by OperationPlan.FromRegistry.
    public sealed class OperationPlan
    {
        /// The parameters whose string values are file paths (resolved against PowerShell's location).
        public HashSet<string> PathParameters { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        public bool HasPassThru { get; internal set; }
        /// The result property the cmdlet emits instead of the whole result ('' for the result).
        public string OutputProperty { get; internal set; } = string.Empty;
        public OutputShape Shape { get; internal set; }
        /// The switch that selects WhenShape (Get-CkKeyVault -InRemovedState), or null.
        public string WhenSwitch { get; internal set; }
        public OutputShape WhenShape { get; internal set; }
        public bool ReturnsNothing { get; internal set; }
        /// The engine takes many inputs in one call (CallBatch) / gives results in pages (PagedCall).
        public bool Batch { get; internal set; }
        public bool Pages { get; internal set; }

        /// Every operation's plan, keyed by operation name (case-insensitive), from the registry
        /// JSON. Output types of one name share one OutputShape.
        public static Hashtable FromRegistry(string describeJson)
        {
            var plans = new Hashtable(StringComparer.OrdinalIgnoreCase);
            var shapes = new Dictionary<string, OutputShape>(StringComparer.OrdinalIgnoreCase);
            using (JsonDocument document = JsonDocument.Parse(describeJson))
            {
                JsonElement root = document.RootElement;
                var descriptions = new Dictionary<string, JsonElement>(StringComparer.OrdinalIgnoreCase);
                foreach (JsonElement outputType in Items(root, "OutputTypes"))
                {
                    descriptions[Text(outputType, "Name")] = outputType;
                }
                foreach (JsonElement operation in Items(root, "Operations"))
                {
                    var plan = new OperationPlan();
                    foreach (JsonElement parameter in Items(operation, "Parameters"))
                    {
                        string name = Text(parameter, "Name");
                        JsonElement isPath;
                        if (parameter.TryGetProperty("IsPath", out isPath) && isPath.ValueKind == JsonValueKind.True)
                        {
                            plan.PathParameters.Add(name);
                        }
                        if (string.Equals(name, "PassThru", StringComparison.OrdinalIgnoreCase))
                        {
                            plan.HasPassThru = true;
                        }
                    }
                    string outputTypeName = Text(operation, "OutputType");
                    plan.OutputProperty = Text(operation, "OutputProperty");
                    plan.Shape = ShapeOf(outputTypeName, descriptions, shapes);
                    JsonElement when;
                    if (operation.TryGetProperty("OutputTypeWhen", out when) && when.ValueKind == JsonValueKind.Object)
                    {
                        plan.WhenSwitch = Text(when, "Switch");
                        string whenType = Text(when, "OutputType");
                        if (whenType.Length > 0)
                        {
                            plan.WhenShape = ShapeOf(whenType, descriptions, shapes);
                        }
                    }
                    plan.ReturnsNothing = string.Equals(outputTypeName, "None", StringComparison.OrdinalIgnoreCase);
                    plan.Batch = Flag(operation, "Batch");
                    plan.Pages = Flag(operation, "Pages");
                    plans[Text(operation, "Name")] = plan;
                }
            }
            return plans;
        }

        /// The conversions of output type typeName: its described properties' kinds; shown as
        /// typeName when it is one of ours (CustomerKey.*).
        private static OutputShape ShapeOf(string typeName, Dictionary<string, JsonElement> descriptions, Dictionary<string, OutputShape> shapes)
        {
            OutputShape shape;
            if (shapes.TryGetValue(typeName, out shape))
            {
                return shape;
            }
            shape = new OutputShape(typeName.StartsWith("CustomerKey.", StringComparison.Ordinal) ? typeName : null);
            JsonElement description;
            if (descriptions.TryGetValue(typeName, out description))
            {
                foreach (JsonElement property in Items(description, "Properties"))
                {
                    string type = Text(property, "Type");
                    PropertyKind kind;
                    switch (type.ToLowerInvariant())
                    {
                        case "datetime": kind = PropertyKind.DateTime; break;
                        case "bytes": kind = PropertyKind.Bytes; break;
                        case "hashtable": kind = PropertyKind.Hashtable; break;
                        // Described for the default views; they keep their JSON type.
                        case "string":
                        case "boolean":
                        case "integer":
                        case "array":
                        case "object":
                            continue;
                        default:
                            throw new InvalidOperationException(string.Format(CultureInfo.InvariantCulture, "the registry describes property {0} of {1} as '{2}', which this module cannot convert", Text(property, "Name"), typeName, type));
                    }
                    shape.Add(Text(property, "Name"), kind);
                }
            }
            shapes[typeName] = shape;
            return shape;
        }

        private static IEnumerable<JsonElement> Items(JsonElement element, string name)
        {
            JsonElement items;
            if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out items) && items.ValueKind == JsonValueKind.Array)
            {
                return items.EnumerateArray();
            }
            return new JsonElement[0];
        }

        private static bool Flag(JsonElement element, string name)
        {
            JsonElement value;
            return element.TryGetProperty(name, out value) && value.ValueKind == JsonValueKind.True;
        }

        /// The property as a string, as PowerShell's [string] gives it: '' when missing or null.
        private static string Text(JsonElement element, string name)
        {
            JsonElement value;
            if (!element.TryGetProperty(name, out value) || value.ValueKind == JsonValueKind.Null)
            {
                return string.Empty;
            }
            return value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
        }
    }

    public static class EngineJson
    {
        /// The arguments of a call as JSON: strings, booleans, integers, string arrays and
        /// string maps, as Invoke-NativeOperation prepared them; a list of them for a batch.
        public static string Write(object arguments)
        {
            using (var buffer = new MemoryStream())
            {
                using (var writer = new Utf8JsonWriter(buffer))
                {
                    WriteValue(writer, arguments);
                }
                return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            }
        }

        private static void WriteValue(Utf8JsonWriter writer, object value)
        {
            value = value is PSObject wrapped ? wrapped.BaseObject : value;
            switch (value)
            {
                case null:
                    writer.WriteNullValue();
                    break;
                case string text:
                    writer.WriteStringValue(text);
                    break;
                case bool flag:
                    writer.WriteBooleanValue(flag);
                    break;
                case int number:
                    writer.WriteNumberValue(number);
                    break;
                case long number:
                    writer.WriteNumberValue(number);
                    break;
                case IDictionary map:
                    writer.WriteStartObject();
                    foreach (DictionaryEntry entry in map)
                    {
                        writer.WritePropertyName(Convert.ToString(entry.Key, CultureInfo.InvariantCulture));
                        WriteValue(writer, entry.Value);
                    }
                    writer.WriteEndObject();
                    break;
                case IEnumerable items:
                    writer.WriteStartArray();
                    foreach (object item in items)
                    {
                        WriteValue(writer, item);
                    }
                    writer.WriteEndArray();
                    break;
                default:
                    writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                    break;
            }
        }

        /// The engine's answer as PowerShell objects: one per element of a top-level array, one
        /// for an object, none for null. Objects are PSCustomObjects with the shape's type name
        /// first in PSTypeNames (nested objects get none), dates [datetime] in UTC, bytes byte[],
        /// maps Hashtables (case-sensitive only when two keys differ only in case).
        public static List<object> Read(string json, OutputShape shape)
        {
            var results = new List<object>();
            if (string.IsNullOrEmpty(json))
            {
                return results;
            }
            using (JsonDocument document = JsonDocument.Parse(json))
            {
                return ReadElement(document.RootElement, shape);
            }
        }

        /// Read's objects from an answer already parsed (a batch item's Result, a page's Items).
        public static List<object> ReadElement(JsonElement root, OutputShape shape)
        {
            var results = new List<object>();
            if (root.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement item in root.EnumerateArray())
                {
                    results.Add(ToObject(item, shape, true));
                }
            }
            else if (root.ValueKind != JsonValueKind.Null)
            {
                results.Add(ToObject(root, shape, true));
            }
            return results;
        }

        /// An error envelope or any answer read without a shape: plain objects, no conversions.
        public static object ReadPlain(string json)
        {
            if (string.IsNullOrEmpty(json))
            {
                return null;
            }
            using (JsonDocument document = JsonDocument.Parse(json))
            {
                return ToObject(document.RootElement, null, false);
            }
        }

        private static object ToObject(JsonElement element, OutputShape shape, bool typed)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    var result = new PSObject();
                    foreach (JsonProperty property in element.EnumerateObject())
                    {
                        PropertyKind kind = shape == null ? PropertyKind.Plain : shape.KindOf(property.Name);
                        object value = Shape(property.Value, kind, shape);
                        // Two keys differing only in case cannot both be properties; the first wins.
                        if (result.Properties[property.Name] == null)
                        {
                            result.Properties.Add(new PSNoteProperty(property.Name, value));
                        }
                    }
                    if (typed && shape != null && !string.IsNullOrEmpty(shape.TypeName))
                    {
                        result.TypeNames.Insert(0, shape.TypeName);
                    }
                    return result;
                case JsonValueKind.Array:
                    var items = new List<object>();
                    foreach (JsonElement item in element.EnumerateArray())
                    {
                        items.Add(ToObject(item, shape, false));
                    }
                    return items.ToArray();
                case JsonValueKind.String:
                    return element.GetString();
                case JsonValueKind.Number:
                    long whole;
                    if (element.TryGetInt64(out whole))
                    {
                        return whole;
                    }
                    return element.GetDouble();
                case JsonValueKind.True:
                    return true;
                case JsonValueKind.False:
                    return false;
                default:
                    return null;
            }
        }

        private static object Shape(JsonElement value, PropertyKind kind, OutputShape shape)
        {
            if (value.ValueKind == JsonValueKind.String)
            {
                string text = value.GetString();
                switch (kind)
                {
                    case PropertyKind.DateTime:
                        DateTime when;
                        if (DateTime.TryParse(text, CultureInfo.InvariantCulture,
                                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out when))
                        {
                            return DateTime.SpecifyKind(when, DateTimeKind.Utc);
                        }
                        return text;
                    case PropertyKind.Bytes:
                        return FromBase64Url(text);
                    default:
                        return text;
                }
            }
            if (kind == PropertyKind.Hashtable && value.ValueKind == JsonValueKind.Object)
            {
                return ToHashtable(value);
            }
            return ToObject(value, shape, false);
        }

        private static Hashtable ToHashtable(JsonElement element)
        {
            var table = new Hashtable(StringComparer.OrdinalIgnoreCase);
            foreach (JsonProperty property in element.EnumerateObject())
            {
                if (table.ContainsKey(property.Name))
                {
                    // Tag names that differ only in case are distinct in Key Vault: keep both.
                    var exact = new Hashtable(StringComparer.Ordinal);
                    foreach (JsonProperty each in element.EnumerateObject())
                    {
                        exact[each.Name] = ToObject(each.Value, null, false);
                    }
                    return exact;
                }
                table[property.Name] = ToObject(property.Value, null, false);
            }
            return table;
        }

        private static byte[] FromBase64Url(string text)
        {
            var base64 = new StringBuilder(text.Length + 3);
            foreach (char c in text)
            {
                base64.Append(c == '-' ? '+' : c == '_' ? '/' : c);
            }
            while (base64.Length % 4 != 0)
            {
                base64.Append('=');
            }
            return Convert.FromBase64String(base64.ToString());
        }
    }

    /// The caller's preference variables, set in a cmdlet's own scope. A script module's
    /// function sees only its module's and the global ones, so `$ErrorActionPreference = 'Stop'`
    /// or `$WhatIfPreference = $true` in an admin's script would not reach our cmdlets as they
    /// reach Microsoft's compiled ones. Called from each cmdlet's begin block: a .NET method adds
    /// no PowerShell scope, so the variables land in the cmdlet's. A preference whose common
    /// parameter was given (-ErrorAction, -WhatIf, ...) is left alone: the parameter wins.
    public static class CallerPreference
    {
        private static readonly string[,] Preferences =
        {
            { "ErrorActionPreference", "ErrorAction" },
            { "WarningPreference", "WarningAction" },
            { "InformationPreference", "InformationAction" },
            { "VerbosePreference", "Verbose" },
            { "DebugPreference", "Debug" },
            { "ProgressPreference", "ProgressAction" },
            { "ConfirmPreference", "Confirm" },
            { "WhatIfPreference", "WhatIf" },
        };

        public static void Apply(PSCmdlet cmdlet, SessionState own)
        {
            var bound = cmdlet.MyInvocation.BoundParameters;
            PSVariableIntrinsics caller = cmdlet.SessionState.PSVariable;
            for (int i = 0; i < Preferences.GetLength(0); i++)
            {
                if (bound.ContainsKey(Preferences[i, 1]))
                {
                    continue;
                }
                PSVariable variable = caller.Get(Preferences[i, 0]);
                if (variable != null)
                {
                    own.PSVariable.Set(Preferences[i, 0], variable.Value);
                }
            }
        }
    }

    /// What one ck_call gave: its status, and either the answer's objects (success) or the
    /// error envelope read as plain objects.
    public sealed class CallResult
    {
        public int Status { get; set; }
        public List<object> Objects { get; set; }
        public object Envelope { get; set; }
        /// A page's answer: the token of the next page, null after the last.
        public string NextPage { get; set; }
    }

    /// One operation's call from a cmdlet's bound parameters, in .NET: the arguments' JSON (the
    /// common parameters left out, switches true when on, [datetime] ISO 8601 UTC, byte[]
    /// base64, hashtables as maps of strings with case-sensitive names, paths resolved against
    /// PowerShell's location, SecureString as text only while the JSON is built), ck_call, and
    /// the answer read by the output shape. Doing this in one method keeps the per-call cost of
    /// a cmdlet near what any script cmdlet costs.
    public static class Invoker
    {
        private static readonly HashSet<string> CommonParameters = new HashSet<string>(
            new[]
            {
                "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction",
                "ErrorVariable", "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer",
                "PipelineVariable", "WhatIf", "Confirm",
            },
            StringComparer.OrdinalIgnoreCase);

        public static CallResult Call(CkSessionHandle session, string operation, IDictionary bound,
            ISet<string> pathParameters, PSCmdlet cmdlet, OutputShape shape)
        {
            Dictionary<string, object> arguments = Arguments(bound, pathParameters, cmdlet);
            string json = EngineJson.Write(arguments);
            arguments.Clear();
            IntPtr answer;
            int status = CallWatch.Call(session, cmdlet, operation, json, out answer);
            json = null;
            string text = NativeMethods.TakeString(answer);
            var result = new CallResult { Status = status };
            if (status == 0 && shape != null)
            {
                result.Objects = EngineJson.Read(text, shape);
            }
            else
            {
                result.Envelope = EngineJson.ReadPlain(text);
                result.Objects = new List<object>();
            }
            return result;
        }

        /// A call's arguments from a cmdlet's bound parameters, ready for EngineJson.Write.
        public static Dictionary<string, object> Arguments(IDictionary bound, ISet<string> pathParameters, PSCmdlet cmdlet)
        {
            var arguments = new Dictionary<string, object>(StringComparer.Ordinal);
            foreach (DictionaryEntry entry in bound)
            {
                string name = (string)entry.Key;
                if (CommonParameters.Contains(name) || entry.Value == null)
                {
                    continue;
                }
                object value = entry.Value is PSObject wrapped ? wrapped.BaseObject : entry.Value;
                object argument = Argument(name, value, pathParameters, cmdlet);
                if (argument != null)
                {
                    arguments[name] = argument;
                }
            }
            return arguments;
        }

        private static object Argument(string name, object value, ISet<string> pathParameters, PSCmdlet cmdlet)
        {
            switch (value)
            {
                case SwitchParameter flag:
                    return flag.IsPresent ? (object)true : null;
                case bool flag:
                    return flag;
                case string text:
                    if (pathParameters != null && pathParameters.Contains(name) && cmdlet != null)
                    {
                        // PowerShell's location is not the process's working directory.
                        return cmdlet.GetUnresolvedProviderPathFromPSPath(text);
                    }
                    return text;
                case DateTime moment:
                    return moment.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture);
                case SecureString secret:
                    return new System.Net.NetworkCredential(string.Empty, secret).Password;
                case byte[] bytes:
                    return Convert.ToBase64String(bytes);
                case IDictionary map:
                    // Key Vault's tag names are case-sensitive: 'Owner' and 'owner' stay apart.
                    var pairs = new Dictionary<string, object>(StringComparer.Ordinal);
                    foreach (DictionaryEntry pair in map)
                    {
                        object pairValue = pair.Value is PSObject inner ? inner.BaseObject : pair.Value;
                        pairs[Convert.ToString(pair.Key, CultureInfo.InvariantCulture)] =
                            Convert.ToString(pairValue ?? string.Empty, CultureInfo.InvariantCulture);
                    }
                    return pairs;
                case Array items:
                    var list = new List<object>(items.Length);
                    foreach (object item in items)
                    {
                        object element = item is PSObject inner ? inner.BaseObject : item;
                        list.Add(Convert.ToString(element, CultureInfo.InvariantCulture));
                    }
                    return list;
                default:
                    return value;
            }
        }
    }
}
