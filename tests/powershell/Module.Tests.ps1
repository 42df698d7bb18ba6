#Requires -Version 7.2
# The module's shape, checked by PowerShell itself: every file parses, the exported cmdlets'
# metadata (Get-Command, CommandMetadata) matches the operation registry (ck_describe) both ways,
# the manifest is valid and exports exactly the Public/ files, the format files load, and the
# module keeps its own rules (no aliases, Write-Host, Invoke-Expression or empty catch; approved
# verbs; [CmdletBinding()] on every public function). Cases are built at discovery, one per
# operation and one per file, so none is skipped silently.

BeforeDiscovery {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $moduleRoot = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey'
    Import-Module -Name (Join-Path -Path $moduleRoot -ChildPath 'CustomerKey.psd1') -Force -ErrorAction Stop
    $describePointer = [System.IntPtr]::Zero
    $null = [CustomerKey.Native.NativeMethods]::ck_describe([ref] $describePointer)
    $discoveredRegistry = ConvertFrom-Json -InputObject ([CustomerKey.Native.NativeMethods]::TakeString($describePointer)) -Depth 20
    $operationCases = @(foreach ($operation in $discoveredRegistry.Operations) {
            @{ Cmdlet = '{0}-Ck{1}' -f $operation.Verb, $operation.Noun; OperationName = $operation.Name }
        })
    $fileCases = @(Get-ChildItem -Path $moduleRoot -Recurse -File -Include '*.ps1', '*.psm1', '*.psd1' | Sort-Object -Property FullName | ForEach-Object {
            @{ File = [System.IO.Path]::GetRelativePath($moduleRoot, $_.FullName); FullName = $_.FullName }
        })
    $publicCases = @($fileCases | Where-Object { $_.File -like 'Public*' })
}

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $moduleRoot = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey'
    $manifestPath = Join-Path -Path $moduleRoot -ChildPath 'CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop
    $describePointer = [System.IntPtr]::Zero
    $null = [CustomerKey.Native.NativeMethods]::ck_describe([ref] $describePointer)
    $registry = ConvertFrom-Json -InputObject ([CustomerKey.Native.NativeMethods]::TakeString($describePointer)) -Depth 20
    $operations = @{}
    foreach ($operation in $registry.Operations) {
        $operations[$operation.Name] = $operation
    }
    $sessionCmdlets = @('Connect-CkService', 'Disconnect-CkService', 'Get-CkConnection')
    $commonParameterNames = @([System.Management.Automation.Cmdlet]::CommonParameters) + @([System.Management.Automation.Cmdlet]::OptionalCommonParameters)
    # The registry's PowerShellType -> the parameter type the cmdlet must declare.
    $parameterTypes = @{
        'string'       = [string]
        'string[]'     = [string[]]
        'switch'       = [switch]
        'bool'         = [bool]
        'int'          = [int]
        'long'         = [long]
        'datetime'     = [datetime]
        'hashtable'    = [hashtable]
        'securestring' = [securestring]
        'byte[]'       = [byte[]]
    }

    function Get-ParameterAttribute {
        param([System.Management.Automation.ParameterMetadata] $Parameter, [type] $Type)
        @($Parameter.Attributes | Where-Object { $_ -is $Type })
    }
}

AfterAll {
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Every module file' {
    It '<File> parses with no errors' -ForEach $fileCases {
        $tokens = $null
        $parseErrors = $null
        $null = [System.Management.Automation.Language.Parser]::ParseFile($FullName, [ref] $tokens, [ref] $parseErrors)
        @($parseErrors).Count | Should -Be 0 -Because (@($parseErrors) -join '; ')
    }

    It '<File> uses no alias, Write-Host, Invoke-Expression or empty catch' -ForEach $fileCases {
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($FullName, [ref] $null, [ref] $null)
        $aliases = @(Get-Alias | ForEach-Object { $_.Name })
        $commandNames = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandAst] }, $true) |
                ForEach-Object { $_.GetCommandName() } | Where-Object { $null -ne $_ })
        @($commandNames | Where-Object { $aliases -contains $_ }) | Should -BeNullOrEmpty -Because 'a module calls commands by their full names'
        @($commandNames | Where-Object { $_ -in @('Write-Host', 'Invoke-Expression') }) | Should -BeNullOrEmpty
        $emptyCatches = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.CatchClauseAst] -and $node.Body.Statements.Count -eq 0 }, $true))
        $emptyCatches.Count | Should -Be 0 -Because 'a caught error is handled or said, never dropped'
    }

    It '<File> defines one function named as the file, with an approved verb and [CmdletBinding()]' -ForEach $publicCases {
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($FullName, [ref] $null, [ref] $null)
        $functions = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $false))
        $functions.Count | Should -Be 1
        $functions[0].Name | Should -BeExactly ([System.IO.Path]::GetFileNameWithoutExtension($FullName))
        $verb = $functions[0].Name.Split('-')[0]
        @(Get-Verb | ForEach-Object { $_.Verb }) | Should -Contain $verb
        $binding = @($functions[0].Body.ParamBlock.Attributes | Where-Object { $_.TypeName.GetReflectionType() -eq [System.Management.Automation.CmdletBindingAttribute] })
        $binding.Count | Should -Be 1
    }
}

Describe 'The manifest' {
    It 'passes Test-ModuleManifest' {
        $manifest = Test-ModuleManifest -Path $manifestPath -ErrorAction Stop
        $manifest.Name | Should -Be 'CustomerKey'
        $manifest.Version | Should -Be ([version] $registry.Version)
    }

    It 'exports exactly the functions of the Public/ files' {
        $manifest = Import-PowerShellDataFile -Path $manifestPath
        $publicNames = @(Get-ChildItem -Path (Join-Path -Path $moduleRoot -ChildPath 'Public') -Recurse -Filter '*.ps1' | ForEach-Object { $_.BaseName } | Sort-Object)
        (@($manifest.FunctionsToExport | Sort-Object) -join ',') | Should -Be ($publicNames -join ',')
        (@((Get-Command -Module CustomerKey).Name | Sort-Object) -join ',') | Should -Be ($publicNames -join ',')
    }

    It 'lists format files that load into a fresh runspace without error' {
        $manifest = Import-PowerShellDataFile -Path $manifestPath
        $formatFiles = @($manifest.FormatsToProcess | ForEach-Object { Join-Path -Path $moduleRoot -ChildPath $_ })
        $formatFiles.Count | Should -BeGreaterThan 0
        $shell = [powershell]::Create()
        try {
            $null = $shell.AddCommand('Update-FormatData').AddParameter('AppendPath', $formatFiles)
            $null = $shell.Invoke()
            @($shell.Streams.Error) | Should -BeNullOrEmpty
            $shell.HadErrors | Should -BeFalse
        }
        finally {
            $shell.Dispose()
        }
    }

    It 'has a view for every output type the registry declares' {
        $viewTypes = @(Get-FormatData -TypeName 'CustomerKey.*' | ForEach-Object { $_.TypeNames })
        $outputTypes = @($registry.Operations | ForEach-Object { $_.OutputType; if ($null -ne $_.OutputTypeWhen) { $_.OutputTypeWhen.OutputType } } |
                Where-Object { $_ -like 'CustomerKey.*' } | Sort-Object -Unique)
        foreach ($type in $outputTypes) {
            $viewTypes | Should -Contain $type
        }
        # Every other view is of a type the registry describes, or of the session cmdlets'
        # CustomerKey.Connection (hand-written in CustomerKey.Format.ps1xml): no stale view.
        $described = @($registry.OutputTypes | ForEach-Object { [string] $_.Name }) + @('CustomerKey.Connection')
        @($viewTypes | Where-Object { $described -notcontains $_ }) | Should -BeNullOrEmpty
    }

    It 'shows each output type in the view the registry declares, column by column' {
        foreach ($outputType in $registry.OutputTypes) {
            $because = "the registry's DefaultView of $($outputType.Name)"
            $views = @((Get-FormatData -TypeName $outputType.Name).FormatViewDefinition)
            $views.Count | Should -Be 1 -Because "one view shows $($outputType.Name)"
            $columns = @($outputType.DefaultView.Columns)
            if ($outputType.DefaultView.Control -eq 'Table') {
                $views[0].Control | Should -BeOfType ([System.Management.Automation.TableControl])
                $labels = @($views[0].Control.Headers | ForEach-Object { $_.Label })
                $widths = @($views[0].Control.Headers | ForEach-Object { $_.Width })
                $entries = @($views[0].Control.Rows[0].Columns | ForEach-Object { $_.DisplayEntry })
                $widths | Should -Be @($columns | ForEach-Object { if ($null -eq $_.Width) { 0 } else { [int] $_.Width } }) -Because $because
            }
            else {
                $views[0].Control | Should -BeOfType ([System.Management.Automation.ListControl])
                $labels = @($views[0].Control.Entries[0].Items | ForEach-Object { $_.Label })
                $entries = @($views[0].Control.Entries[0].Items | ForEach-Object { $_.DisplayEntry })
            }
            $labels | Should -Be @($columns | ForEach-Object { [string] $_.Label }) -Because $because
            $entries.Count | Should -Be $columns.Count
            for ($i = 0; $i -lt $columns.Count; $i++) {
                if ($columns[$i].Format -eq 'Value') {
                    $entries[$i].ValueType | Should -Be 'Property' -Because $because
                    $entries[$i].Value | Should -BeExactly $columns[$i].Property
                }
                else {
                    $entries[$i].ValueType | Should -Be 'ScriptBlock' -Because $because
                    $entries[$i].Value | Should -Match ([regex]::Escape('$_.' + $columns[$i].Property))
                }
            }
        }
    }
}

Describe 'Cmdlets and the operation registry' {
    It 'has a cmdlet for every operation and no cmdlet without one but the session cmdlets' {
        $expected = @($sessionCmdlets) + @($registry.Operations | ForEach-Object { '{0}-Ck{1}' -f $_.Verb, $_.Noun })
        $exported = @((Get-Command -Module CustomerKey).Name)
        @(Compare-Object -ReferenceObject @($expected | Sort-Object) -DifferenceObject @($exported | Sort-Object)) | Should -BeNullOrEmpty
    }

    It '<Cmdlet> declares the parameters, sets and validation of <OperationName>' -ForEach $operationCases {
        $operation = $operations[$OperationName]
        $command = Get-Command -Name $Cmdlet -Module CustomerKey
        $metadata = [System.Management.Automation.CommandMetadata]::new($command)

        $expectedNames = @($operation.Parameters | ForEach-Object { $_.Name })
        if ($null -ne $operation.PowerShell -and $null -ne $operation.PowerShell.PSObject.Properties['Wait']) {
            $expectedNames += 'Wait'
        }
        $actualNames = @($command.Parameters.Keys | Where-Object { $commonParameterNames -notcontains $_ })
        (@($actualNames | Sort-Object) -join ',') | Should -Be (@($expectedNames | Sort-Object) -join ',')

        $declaredSets = @($operation.ParameterSets)
        if ($declaredSets.Count -gt 0) {
            (@($command.ParameterSets.Name | Sort-Object) -join ',') | Should -Be (@($declaredSets | Sort-Object) -join ',')
            $metadata.DefaultParameterSetName | Should -Be $operation.DefaultParameterSetName
        }
        else {
            @($command.ParameterSets).Count | Should -Be 1
        }

        foreach ($declared in $operation.Parameters) {
            $because = '{0} -{1}' -f $Cmdlet, $declared.Name
            $parameter = $command.Parameters[$declared.Name]
            $parameter.ParameterType | Should -Be $parameterTypes[$declared.PowerShellType] -Because $because
            (@($parameter.Aliases | Sort-Object) -join ',') | Should -Be (@($declared.Aliases | Sort-Object) -join ',') -Because $because

            # Sets: where the registry names none, the parameter is in every set.
            $setAttributes = @(Get-ParameterAttribute -Parameter $parameter -Type ([System.Management.Automation.ParameterAttribute]))
            # Positions and ValueFromPipeline as Microsoft declares them, in every set alike;
            # a parameter the registry gives no position binds by name only.
            $expectedPosition = if ($null -ne $declared.Position) { [int] $declared.Position } else { [int]::MinValue }
            foreach ($attribute in $setAttributes) {
                $attribute.Position | Should -Be $expectedPosition -Because ('{0} position' -f $because)
            }
            if (@($declared.ParameterSets).Count -eq 0) {
                $setAttributes.Count | Should -Be 1 -Because $because
                $setAttributes[0].ParameterSetName | Should -Be '__AllParameterSets' -Because $because
                $setAttributes[0].Mandatory | Should -Be ([bool] $declared.Mandatory) -Because $because
                $setAttributes[0].ValueFromPipelineByPropertyName | Should -Be ([bool] $declared.ValueFromPipelineByPropertyName) -Because $because
                $setAttributes[0].ValueFromPipeline | Should -Be ([bool] $declared.ValueFromPipeline) -Because $because
            }
            else {
                (@($setAttributes.ParameterSetName | Sort-Object) -join ',') | Should -Be (@($declared.ParameterSets.Name | Sort-Object) -join ',') -Because $because
                foreach ($set in $declared.ParameterSets) {
                    $attribute = $setAttributes | Where-Object { $_.ParameterSetName -eq $set.Name }
                    $attribute.Mandatory | Should -Be ([bool] $set.Mandatory) -Because ('{0} in set {1}' -f $because, $set.Name)
                    # Pipeline binding is per set: in Az's ResourceId sets only -ResourceId binds.
                    $attribute.ValueFromPipelineByPropertyName | Should -Be ([bool] $set.ValueFromPipelineByPropertyName) -Because ('{0} in set {1}' -f $because, $set.Name)
                    $attribute.ValueFromPipeline | Should -Be ([bool] $set.ValueFromPipeline) -Because ('{0} ValueFromPipeline in set {1}' -f $because, $set.Name)
                }
            }

            $validateSet = @(Get-ParameterAttribute -Parameter $parameter -Type ([System.Management.Automation.ValidateSetAttribute]))
            if (@($declared.AllowedValues).Count -gt 0) {
                $validateSet.Count | Should -Be 1 -Because $because
                (@($validateSet[0].ValidValues) -join ',') | Should -Be (@($declared.AllowedValues) -join ',') -Because $because
            }
            else {
                $validateSet.Count | Should -Be 0 -Because $because
            }
            $validateRange = @(Get-ParameterAttribute -Parameter $parameter -Type ([System.Management.Automation.ValidateRangeAttribute]))
            if ($null -ne $declared.Range) {
                $validateRange.Count | Should -Be 1 -Because $because
                $validateRange[0].MinRange | Should -Be $declared.Range[0] -Because $because
                $validateRange[0].MaxRange | Should -Be $declared.Range[1] -Because $because
            }
            else {
                $validateRange.Count | Should -Be 0 -Because $because
            }
        }

        $metadata.PositionalBinding | Should -BeFalse -Because 'only the registry''s positions are positional'
        $metadata.SupportsShouldProcess | Should -Be ($null -ne $operation.ShouldProcess)
        if ($null -ne $operation.ShouldProcess) {
            $metadata.ConfirmImpact.ToString() | Should -Be $operation.ConfirmImpact
        }
        if ($operation.OutputType -eq 'None') {
            @($command.OutputType).Count | Should -Be 0
        }
        else {
            @($command.OutputType | ForEach-Object { $_.Name }) | Should -Contain $operation.OutputType
        }
    }
}
