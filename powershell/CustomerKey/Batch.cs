// Many calls of one read operation in one ck_call, and long listings read a page at a time:
// a pipeline of 100,000 inputs (Get-CkMailbox | Get-CkMailboxStatistics) costs one native call
// and one JSON answer per batch instead of per input, and never holds the whole listing. The
// engine's side is src/operations/paging.rs; ck_describe marks the operations (Batch, Pages).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using System.Text;
using System.Text.Json;

namespace CustomerKey.Native
{
    /// The pending inputs of one cmdlet's pipeline, sent as a batch when full, when the first
    /// has waited long enough, or at the end; the answers are written to the cmdlet in input
    /// order, each failure handed back to the script to become an ErrorRecord there.
    public sealed class CallBatch
    {
        /// Inputs per ck_call: large enough that the call's fixed cost vanishes, small enough
        /// that one answer stays well under a megabyte.
        public const int DefaultSize = 1000;
        /// An input waits at most this long for the batch to fill before it is sent anyway, so a
        /// slow producer still sees its results as it goes.
        public static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(200);

        private readonly PSCmdlet cmdlet;
        private readonly OperationPlan plan;
        private readonly int size;
        private readonly List<Dictionary<string, object>> pending = new List<Dictionary<string, object>>();
        private readonly Stopwatch waiting = new Stopwatch();
        private JsonDocument answer;
        private JsonElement.ArrayEnumerator answers;

        public CallBatch(PSCmdlet cmdlet, string operation, OperationPlan plan)
            : this(cmdlet, operation, plan, DefaultSize)
        {
        }

        public CallBatch(PSCmdlet cmdlet, string operation, OperationPlan plan, int size)
        {
            if (size < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(size), "a batch holds at least one input");
            }
            this.cmdlet = cmdlet;
            this.plan = plan;
            this.size = size;
            Operation = operation;
        }

        public string Operation { get; private set; }

        public int Count
        {
            get { return pending.Count; }
        }

        /// Takes one input's bound parameters (converted now: PowerShell reuses the dictionary
        /// for the next input); true when the batch should be sent.
        public bool Add(IDictionary bound)
        {
            if (pending.Count == 0)
            {
                waiting.Restart();
            }
            pending.Add(Invoker.Arguments(bound, plan == null ? null : plan.PathParameters, cmdlet));
            return pending.Count >= size || waiting.Elapsed >= MaxWait;
        }

        /// Sends the pending inputs as one ck_call. Null when the engine took the batch (its
        /// answers are then read by EmitUntilFailure); the whole call's failure otherwise.
        public CallResult Send(CkSessionHandle session)
        {
            Release();
            string json = EngineJson.Write(pending);
            pending.Clear();
            IntPtr answerPointer;
            int status = CallWatch.Call(session, cmdlet, Operation, json, out answerPointer);
            string text = NativeMethods.TakeString(answerPointer);
            if (status != 0)
            {
                return new CallResult { Status = status, Envelope = EngineJson.ReadPlain(text), Objects = new List<object>() };
            }
            answer = JsonDocument.Parse(text);
            if (answer.RootElement.ValueKind != JsonValueKind.Array)
            {
                Release();
                throw new InvalidDataException("the engine answered a batch with something other than an array");
            }
            answers = answer.RootElement.EnumerateArray();
            return null;
        }

        /// Writes the answers' objects to the cmdlet, in order, up to the next failure, which it
        /// returns (its Status and error envelope); null when every answer has been written.
        public CallResult EmitUntilFailure()
        {
            if (answer == null)
            {
                return null;
            }
            OutputShape shape = plan == null ? null : plan.Shape;
            while (answers.MoveNext())
            {
                JsonElement item = answers.Current;
                int status = item.GetProperty("Status").GetInt32();
                if (status != 0)
                {
                    return new CallResult
                    {
                        Status = status,
                        Envelope = EngineJson.ReadPlain(item.GetProperty("Error").GetRawText()),
                        Objects = new List<object>(),
                    };
                }
                foreach (object result in EngineJson.ReadElement(item.GetProperty("Result"), shape))
                {
                    cmdlet.WriteObject(result);
                }
            }
            Release();
            return null;
        }

        private void Release()
        {
            if (answer != null)
            {
                answer.Dispose();
                answer = null;
            }
        }
    }

    /// One page of a paged operation's results (ck_describe's Pages): the objects and the token
    /// of the next page, null after the last.
    public static class PagedCall
    {
        /// Results per page: a listing is held a page at a time, on both sides of the call.
        public const int DefaultSize = 1000;

        public static CallResult Call(CkSessionHandle session, string operation, IDictionary bound,
            ISet<string> pathParameters, PSCmdlet cmdlet, OutputShape shape, int size, string after)
        {
            Dictionary<string, object> arguments = Invoker.Arguments(bound, pathParameters, cmdlet);
            var page = new Dictionary<string, object>(StringComparer.Ordinal) { { "Size", size } };
            // PowerShell passes $null to a string parameter as ''.
            if (!string.IsNullOrEmpty(after))
            {
                page["After"] = after;
            }
            arguments["$Page"] = page;
            string json = EngineJson.Write(arguments);
            IntPtr answerPointer;
            int status = CallWatch.Call(session, cmdlet, operation, json, out answerPointer);
            string text = NativeMethods.TakeString(answerPointer);
            var result = new CallResult { Status = status };
            if (status != 0)
            {
                result.Envelope = EngineJson.ReadPlain(text);
                result.Objects = new List<object>();
                return result;
            }
            using (JsonDocument document = JsonDocument.Parse(text))
            {
                JsonElement root = document.RootElement;
                JsonElement items;
                JsonElement next;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("Items", out items) || !root.TryGetProperty("NextPage", out next))
                {
                    throw new InvalidDataException("the engine answered a page request without Items and NextPage");
                }
                result.Objects = EngineJson.ReadElement(items, shape);
                result.NextPage = next.ValueKind == JsonValueKind.String ? next.GetString() : null;
            }
            return result;
        }
    }
}
